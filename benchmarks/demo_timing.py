"""Wall time of the built-in demo batch (both shipped parameter files), sequential vs parallel.

Runs `subgroups batch params/*.yaml --workers 1` and `--workers 2` into fresh temporary folders
(no cached fits), appends one row per run to `benchmarks/results/demo_timing.csv` and prints them.
Issue 6 targets: the demo batch within 3 minutes after installation, and 2 workers faster than 1.
With ``--analyze``: instead, the wall time of `subgroups.open_analysis("params/demo.yaml")` alone (load,
fit, tests, subgroups, designs; no notebooks), in a fresh process per repeat, median of three, appended to
`benchmarks/results/demo_analyze_timing.csv` (issue 15 target: at most 60 s).

    .venv/bin/python benchmarks/demo_timing.py
    .venv/bin/python benchmarks/demo_timing.py --analyze
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "demo_timing.csv"


ANALYZE = ROOT / "benchmarks" / "results" / "demo_analyze_timing.csv"
ONE_ANALYSIS = (
    "import time, subgroups; start = time.perf_counter(); subgroups.open_analysis('params/demo.yaml'); "
    "print(time.perf_counter() - start)"
)


def analyze_timing(repeats: int = 3) -> None:
    load = os.getloadavg()[0]  # other work on the machine inflates the times: recorded with them
    seconds = []
    for _ in range(repeats):
        result = subprocess.run([sys.executable, "-c", ONE_ANALYSIS], cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"demo analysis failed: {result.stderr.strip().splitlines()[-1:]}")
        seconds.append(float(result.stdout.strip().splitlines()[-1]))
        print(f"demo open_analysis: {seconds[-1]:.1f} s", flush=True)
    median = sorted(seconds)[len(seconds) // 2]
    row = {
        "date": dt.date.today().isoformat(),
        "repeats": repeats,
        "median_s": round(median, 1),
        "max_s": round(max(seconds), 1),
        "load_before": round(load, 2),
        "cpus": os.cpu_count(),
    }
    pd.DataFrame([row]).to_csv(ANALYZE, mode="a", header=not ANALYZE.exists(), index=False)
    print(f"median {median:.1f} s over {repeats} (target: at most 60 s)")


def main() -> None:
    if "--analyze" in sys.argv[1:]:
        return analyze_timing()
    params = sorted(str(p) for p in (ROOT / "params").glob("*.yaml"))
    rows = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            command = [sys.executable, "-m", "subgroups.cli", "batch", *params, "-o", out, "--workers", str(workers)]
            result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - start
        if result.returncode != 0:
            raise SystemExit(f"batch with {workers} worker(s) failed: {result.stderr.strip().splitlines()[-1:]}")
        rows.append({"date": dt.date.today().isoformat(), "runs": len(params), "workers": workers, "seconds": round(seconds, 1)})
        print(f"{len(params)} runs with {workers} worker(s): {seconds:.1f} s", flush=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(RESULTS, mode="a", header=not RESULTS.exists(), index=False)
    print(f"speed-up with 2 workers: {rows[0]['seconds'] / rows[1]['seconds']:.2f}x")


if __name__ == "__main__":
    main()
