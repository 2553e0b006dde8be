"""Power against trial size: how often each method detects heterogeneity in PM-SNP as n grows.

Reads the folders ``results/power_vs_n/n=<N>/`` that ``simulate.py --n N --out ...`` writes (one per
sample size; the same seeds as the committed cells, the test set unchanged; at n = 500 a method the folder
lacks, e.g. ``ours``, is read from the committed cell ``results/simulation/PM-SNP.csv``) and writes a table
(``results/power_vs_n.md``) and a figure (``results/power_vs_n.png``): per effect size b1_rel, method
and n, the rejection rate at α = 0.05 (M1) with its Monte-Carlo standard error and R, and the ratio of
each method's rate to that of the agnostic ceiling and of the oracle on the same trials.

Run the cells (resumable; one process per line, or ``--shard 0/2`` and ``1/2`` into separate folders)::

    for n in 500 1000 2000 4000; do
      .venv/bin/python benchmarks/simulate.py --tier full --scenario PM-SNP --cell b1_rel=1 --cell b1_rel=2 \\
          --methods ceiling,oracle,ours --reps 100 --n $n --out benchmarks/results/power_vs_n/n=$n
    done
    .venv/bin/python benchmarks/power_vs_n.py
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "power_vs_n"
METHOD_ORDER = ("ours", "ours+maxT", "ours+jointT", "ceiling", "oracle")


MAIN = HERE / "results" / "simulation" / "PM-SNP.csv"  # the committed cells: n = 500, the same seeds
SCENARIO_N = 500  # PM-SNP's own sample size (docs/simulation.md §4)


def _main_cells(path: Path, have: pd.DataFrame) -> pd.DataFrame:
    """M1 rows of the committed PM-SNP cells (n = `SCENARIO_N`) of `ours` for the cells the ``n=500`` folder lacks it in.

    `simulate.py --n 500` makes the same trials as the committed cells (seeds depend on scenario, cell and
    replication only), so `ours` at n = 500 need not be fitted twice.
    """
    if not path.exists():
        return pd.DataFrame()
    rows = pd.read_csv(path, dtype={"cell": str})
    rows = rows[(rows["metric"] == "M1") & (rows["method"] == "ours") & rows["cell"].isin(["b1_rel=1", "b1_rel=2"])]
    present = set(map(tuple, have.loc[have["n"] == SCENARIO_N, ["cell", "method"]].drop_duplicates().to_numpy()))
    rows = rows[[(c, m) not in present for c, m in zip(rows["cell"], rows["method"])]]
    return rows.drop_duplicates(["cell", "rep", "method"], keep="last").assign(n=SCENARIO_N)


def read_rates(folder: Path = RESULTS, main: Path = MAIN) -> pd.DataFrame:
    """One row per (b1_rel, method, n): rate, se, reps, from the M1 rows of every ``n=<N>/PM-SNP.csv`` and, at
    n = 500, of the committed simulation cells for methods the ``n=500`` folder does not have (`_main_cells`)."""
    frames = []
    for path in sorted(folder.glob("n=*/PM-SNP.csv")):
        match = re.fullmatch(r"n=(\d+)", path.parent.name)
        if not match:
            continue
        rows = pd.read_csv(path, dtype={"cell": str})
        rows = rows[rows["metric"] == "M1"].drop_duplicates(["cell", "rep", "method"], keep="last")
        rows["n"] = int(match.group(1))
        frames.append(rows)
    if not frames:
        return pd.DataFrame(columns=["cell", "method", "n", "rate", "se", "reps"])
    rows = pd.concat(frames, ignore_index=True)
    rows = pd.concat([rows, _main_cells(main, rows)], ignore_index=True)
    table = rows.groupby(["cell", "method", "n"])["value"].agg(rate="mean", reps="count").reset_index()
    table["se"] = np.sqrt(table["rate"] * (1 - table["rate"]) / table["reps"])
    return table


def with_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Add each rate's ratio to the ceiling's and the oracle's rate in the same (cell, n)."""
    out = table.copy()
    for reference in ("ceiling", "oracle"):
        ref = table[table["method"] == reference].set_index(["cell", "n"])["rate"]
        key = pd.MultiIndex.from_frame(out[["cell", "n"]])
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"vs_{reference}"] = out["rate"].to_numpy() / ref.reindex(key).to_numpy()
    return out


def render(table: pd.DataFrame) -> str:
    lines = [
        "# Power against trial size (PM-SNP)",
        "",
        "Rejection rate of the heterogeneity test at α = 0.05 (M1) ± Monte-Carlo SE, R replications per cell;",
        "ratios to the agnostic ceiling (max-T on AIPW scores from the true nuisance functions) and to the oracle",
        "(the true-model interaction test). Made by `benchmarks/power_vs_n.py` from `results/power_vs_n/`.",
        "",
    ]
    for cell, part in table.groupby("cell"):
        lines += [f"## {cell}", "", "| method | n | rate ± SE | R | ÷ ceiling | ÷ oracle |", "|---|---|---|---|---|---|"]
        order = {m: i for i, m in enumerate(METHOD_ORDER)}
        part = part.sort_values(["method", "n"], key=lambda s: s.map(order).fillna(99) if s.name == "method" else s)
        for r in part.itertuples(index=False):
            ratios = [("–" if not math.isfinite(v) else f"{v:.2f}") for v in (r.vs_ceiling, r.vs_oracle)]
            lines.append(f"| {r.method} | {r.n:,} | {r.rate:.3f} ± {r.se:.3f} | {r.reps} | {ratios[0]} | {ratios[1]} |")
        lines.append("")
    return "\n".join(lines)


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = sorted(table["cell"].unique())
    fig, axes = plt.subplots(1, len(cells), figsize=(5 * len(cells), 3.8), sharey=True, squeeze=False)
    for ax, cell in zip(axes[0], cells, strict=True):
        part = table[table["cell"] == cell]
        for method in [m for m in METHOD_ORDER if m in set(part["method"])]:
            rows = part[part["method"] == method].sort_values("n")
            ax.errorbar(rows["n"], rows["rate"], yerr=1.96 * rows["se"], marker="o", capsize=3, label=method)
        ax.set_xscale("log")
        ax.set_xticks(sorted(part["n"].unique()), [f"{n:,}" for n in sorted(part["n"].unique())])
        ax.minorticks_off()
        ax.axhline(0.05, color="grey", lw=0.8, ls=":")
        ax.set_title(f"PM-SNP {cell}")
        ax.set_xlabel("patients per trial (n)")
    axes[0][0].set_ylabel("P(heterogeneity detected), α = 0.05")
    axes[0][0].set_ylim(0, 1.02)
    axes[0][-1].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the n=<N> result folders")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "power_vs_n.md", help="Markdown table to write")
    args = parser.parse_args(argv)
    table = read_rates(args.results)
    if table.empty:
        raise SystemExit(f"no n=<N>/PM-SNP.csv under {args.results}; run the commands in this script's docstring")
    table = with_ratios(table)
    args.out.write_text(render(table) + "\n", encoding="utf-8")
    plot(table, args.out.with_suffix(".png"))
    print(render(table))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
