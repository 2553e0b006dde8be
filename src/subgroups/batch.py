"""Many runs at once: parameter files and sweeps, executed by dask.distributed.

Locally a `distributed.LocalCluster` of worker processes runs them (one thread each: every run
already keeps its cores busy); with a scheduler address the same runs go to an existing Dask
cluster. One failing run never stops the others: each run's outcome is recorded, and
``runs/index.html`` and ``runs/summary.csv`` list every run with its status and headline numbers.

A sweep is declared in a parameter file as a top-level ``sweep`` mapping of dotted keys to lists;
the runs are the Cartesian product, named ``<name>-<key>-<value>...``::

    sweep:
      estimation.seed: [1, 2, 3]
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from subgroups.errors import ParameterError, RunError, SubgroupsError
from subgroups.params import load_params, parse_yaml


@dataclass(frozen=True)
class RunSpec:
    """One run of a batch: a parameter file plus overrides."""

    params_file: str
    overrides: dict[str, Any]
    name: str


def expand(params_files: list[str | Path]) -> list[RunSpec]:
    """Every run named by the files, with sweeps expanded; names must be unique."""
    specs: list[RunSpec] = []
    for file in params_files:
        path = Path(file)
        if not path.is_file():
            raise ParameterError(f"{path}: parameter file not found")
        tree = parse_yaml(path.read_text(encoding="utf-8"), where=str(path)) or {}
        sweep = tree.get("sweep") if isinstance(tree, dict) else None
        base = dict(tree)
        base.pop("sweep", None)
        name = str(base.get("name", path.stem))
        if not sweep:
            specs.append(RunSpec(str(path.resolve()), {}, name))
            continue
        if not isinstance(sweep, dict) or not all(isinstance(v, list) and v for v in sweep.values()):
            raise ParameterError(f"{path}: 'sweep' must map dotted keys to non-empty lists, e.g. estimation.seed: [1, 2]")
        if "name" in sweep:
            raise ParameterError(f"{path}: 'sweep' cannot vary 'name'; each run is named from the file's name and its values")
        keys = list(sweep)
        labels = {key: _value_labels(path, key, sweep[key]) for key in keys}
        for chosen in itertools.product(*(range(len(sweep[k])) for k in keys)):
            overrides = {k: sweep[k][i] for k, i in zip(keys, chosen)}
            run_name = f"{name}-" + "-".join(f"{k.split('.')[-1]}-{labels[k][i]}" for k, i in zip(keys, chosen))
            if len(run_name) > RUN_NAME_LIMIT:  # the name is a folder name; keep it short and still unique
                run_name = f"{name}-" + "-".join(str(i + 1) for i in chosen)
            if len(run_name) > RUN_NAME_LIMIT:
                raise ParameterError(
                    f"{path}: name '{name}' leaves no room for the sweep's run names ({run_name!r} is longer than "
                    f"{RUN_NAME_LIMIT} characters); shorten it"
                )
            specs.append(RunSpec(str(path.resolve()), {**overrides, "name": run_name}, run_name))
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ParameterError(f"two runs of the batch are both named '{spec.name}'; give each parameter file its own name")
        seen.add(spec.name)
    return specs


#: Longest run name (`RunParams.name`); a sweep's runs longer than this are numbered instead.
RUN_NAME_LIMIT = 80


def _value_labels(path: Path, key: str, values: list[Any]) -> list[str]:
    """How each value of a swept key appears in the run names: the value itself when it is a plain word or number,
    else its position in the list (1, 2, ...) — a list or a rule ("age >= 65") cannot be part of a folder name.
    A value listed twice would give two identical runs."""
    for i, value in enumerate(values):
        if value in values[:i]:
            raise ParameterError(f"{path}: sweep '{key}' lists {value!r} twice; each value gives one run")
    plain = [str(v) for v in values]
    if all(isinstance(v, (str, int, float)) and not isinstance(v, bool) and _PLAIN.fullmatch(str(v)) for v in values):
        return plain
    return [str(i + 1) for i in range(len(values))]


_PLAIN = re.compile(r"[A-Za-z0-9_.]+")


def run_one(spec: RunSpec, out_dir: str) -> dict[str, Any]:
    """Execute one run and describe its outcome; never raises (the batch must go on)."""
    from subgroups.runner import run

    started = time.perf_counter()
    swept = "; ".join(f"{key} = {value}" for key, value in spec.overrides.items() if key != "name")
    record: dict[str, Any] = {
        "name": spec.name, "sweep": swept, "status": "failed", "reason": "", "user_error": False, "seconds": 0.0
    }  # fmt: skip
    try:
        params = load_params(spec.params_file, spec.overrides, allow_sweep=True)
        result = run(params, out_dir=out_dir)
        ate, het = result.results["ate"], result.results["heterogeneity"]
        record.update(
            status="succeeded",
            effect=ate["estimate"],
            ci_low=ate["ci_low"],
            ci_high=ate["ci_high"],
            ci_level=ate["ci_level"],
            scale=ate["scale"],
            heterogeneity_p=het["p_value"],
            heterogeneity_detected=het["detected"],
            recommended_design=(result.results.get("design") or {}).get("recommended"),
        )
    except BaseException as exc:  # noqa: BLE001 - one failing run must not stop the batch
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        record["reason"] = first
        record["user_error"] = isinstance(exc, SubgroupsError)  # a mistake in the parameters or data, not a bug
    record["seconds"] = round(time.perf_counter() - started, 1)
    return record


def run_batch(
    params_files: list[str | Path],
    out_dir: str | Path = "runs",
    workers: int = 2,
    scheduler: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every spec on a Dask cluster (local processes unless `scheduler` is given)."""
    from subgroups.runner import require_extra

    require_extra("batch", "distributed")
    from distributed import Client, LocalCluster, as_completed

    specs = expand(params_files)
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise RunError(f"output folder {out} is a file, not a folder; give -o a folder for the run folders")
    out = out.resolve()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the output folder {out} ({exc.strerror}); give -o a writable folder") from None
    if scheduler:
        try:
            client, cluster = Client(scheduler), None
        except (OSError, ValueError, TypeError) as exc:  # unreachable, timed out, or not an address
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunError(
                f"cannot connect to the Dask scheduler at {scheduler!r} ({reason}); check the address "
                "(e.g. tcp://10.0.0.5:8786) and that the scheduler is running, or leave out --scheduler to run locally"
            ) from None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    records = []
    bar = tqdm(total=len(specs), unit="run", disable=not progress, file=sys.stdout, dynamic_ncols=True)
    try:
        futures = [client.submit(run_one, spec, str(out), key=f"run-{spec.name}", pure=False) for spec in specs]
        for future in as_completed(futures):
            record = future.result()
            records.append(record)
            if progress:
                bar.write(f"{record['name']}: {record['status']} ({record['seconds']:.0f}s)")
            bar.update(1)
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
    order = {spec.name: i for i, spec in enumerate(specs)}
    summary = pd.DataFrame(sorted(records, key=lambda r: order[r["name"]]))
    spreadsheet_safe(summary).to_csv(out / "summary.csv", index=False)
    (out / "index.html").write_text(batch_index(summary), encoding="utf-8")
    return summary


# A cell starting with one of these is read as a formula by spreadsheets (CSV injection, OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which every text cell that a spreadsheet would run as a formula starts with a single quote."""

    def neutral(value: Any) -> Any:
        return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value

    return frame.apply(lambda column: column if pd.api.types.is_numeric_dtype(column) else column.map(neutral))


def batch_index(summary: pd.DataFrame) -> str:
    """`runs/index.html`: every run with its status, headline numbers and a link to its report (template
    `templates/batch.html.j2`, autoescaped)."""
    from subgroups.runner import page_template

    runs = []
    for record in summary.to_dict(orient="records"):
        ok = record["status"] == "succeeded"
        effect = (
            f"{record['effect']:+.3g} ({record.get('ci_level', 0.95):.0%} CI {record['ci_low']:.3g} to {record['ci_high']:.3g})"
            if ok
            else ""
        )
        het = (
            f"p = {record['heterogeneity_p']:.3g}" + (" (detected)" if record.get("heterogeneity_detected") else "") if ok else ""
        )
        design = str(record.get("recommended_design") or "").replace("_", " ") if ok else ""
        runs.append(
            {"ok": ok, "name": record["name"], "sweep": str(record.get("sweep") or ""), "status": record["status"],
             "effect": effect, "heterogeneity": het, "design": design, "reason": str(record.get("reason") or "")}
        )  # fmt: skip
    failed = int((summary["status"] != "succeeded").sum())
    return page_template("batch.html.j2").render(runs=runs, failed=failed, swept=any(run["sweep"] for run in runs))
