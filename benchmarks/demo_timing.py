"""Wall time of the built-in demo batch (both shipped parameter files), sequential vs parallel.

Runs `subgroups batch params/*.yaml --workers 1` and `--workers 2` into fresh temporary folders
(no cached fits), appends one row per run to `benchmarks/results/demo_timing.csv` and prints them.
Issue 6 targets: the demo batch within 3 minutes after installation, and 2 workers faster than 1.

    .venv/bin/python benchmarks/demo_timing.py
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "demo_timing.csv"


def main() -> None:
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
