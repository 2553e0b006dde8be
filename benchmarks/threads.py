"""OpenMP threads for the boosted trees at trial sizes: one thread against the machine's default.

`subgroups.effects.threads_for` limits scikit-learn's OpenMP histogram boosting to one thread below
`SINGLE_THREAD_BELOW` patients. This script measures why: `fit_effects` on PM-SNP (b1_rel = 2,
continuous outcome, package defaults) at several n, alternating one thread and the default (all
cores), each in a fresh process so neither inherits the other's thread pool. It prints the median
wall time of `--reps` fits per cell. Run it alone on the machine.

    .venv/bin/python benchmarks/threads.py                 # n = 500, 2,000, 10,000; 3 reps
    .venv/bin/python benchmarks/threads.py --n 1000 --reps 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

FIT = """
import time, warnings
warnings.filterwarnings("ignore")
from subgroups import effects
from subgroups.datasets.synthetic import simulate_trial
from subgroups.data import load_trial
from subgroups.params import load_params
effects.SINGLE_THREAD_BELOW = 0 if {default} else 10**9  # default: never limit; else: always one thread
frame = simulate_trial("PM-SNP", n={n}, seed=1, b1_rel=2).data
params = load_params({{"name": "t", "data": {{"treatment": {{"column": "arm", "treated": "drug", "control": "placebo"}},
                      "outcome": {{"column": "response", "type": "continuous"}}, "id_column": "patient_id"}}}})
trial = load_trial(params, frame)
start = time.perf_counter()
effects.fit_effects(trial, params.estimation)
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    print(f"cores: {os.cpu_count()}")
    print(f"{'n':>7}  {'one thread (s)':>15}  {'default (s)':>12}  ratio")
    for n in args.n:
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.reps):
            for default in (False, True):
                out = subprocess.run([sys.executable, "-c", FIT.format(n=n, default=default)], env=env, capture_output=True,
                                     text=True, check=True)  # fmt: skip
                times[default].append(float(out.stdout.strip().splitlines()[-1]))
        one, many = statistics.median(times[False]), statistics.median(times[True])
        print(f"{n:>7}  {one:>15.2f}  {many:>12.2f}  {many / one:.2f}")


if __name__ == "__main__":
    main()
