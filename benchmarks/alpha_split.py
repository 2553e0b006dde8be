"""How the agnostic share of α is split between the calibration test and the per-feature max-T test.

The suite's decision (`heterogeneity.Heterogeneity.adjusted`) gives the calibration test a share w of the agnostic α
and the max-T test 1 − w, by weighted Holm; with two tests, heterogeneity is detected when
min(p_BLP / w, p_maxT / (1 − w)) < α. The committed `ours` rows of the simulation benchmark keep both parts
(metrics ``p_blp``, ``p_maxT``), so the detection rate under any w can be recomputed on the same trials without new
fits. This prints it per cell for w in 0, 0.1, 0.25, 1/3, 0.5, 0.75 and 1 (w = 0.5 is the suite's rule).

    .venv/bin/python benchmarks/alpha_split.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SIMULATION = Path(__file__).resolve().parent / "results" / "simulation"
WEIGHTS = (0.0, 0.1, 0.25, 1 / 3, 0.5, 0.75, 1.0)
ALPHA = 0.05


def detection(p_blp: np.ndarray, p_max_t: np.ndarray, w: float, alpha: float = ALPHA) -> float:
    """Share of trials where weighted Holm over the two tests (calibration share w) rejects anything at alpha."""
    with np.errstate(divide="ignore"):
        blp = p_blp / w if w > 0 else np.full(p_blp.shape, np.inf)
        max_t = p_max_t / (1 - w) if w < 1 else np.full(p_max_t.shape, np.inf)
    return float(np.mean(np.minimum(blp, max_t) < alpha))


def parts(folder: Path = SIMULATION) -> dict[tuple[str, str], pd.DataFrame]:
    """Per (scenario, cell): one row per replication of `ours` with p_blp and p_maxT."""
    out = {}
    for path in sorted(folder.glob("*.csv")):
        rows = pd.read_csv(path, dtype={"cell": str})
        rows = rows[(rows["method"] == "ours") & rows["metric"].isin(["p_blp", "p_maxT"])]
        rows = rows.drop_duplicates(["cell", "rep", "metric"], keep="last")
        for cell, part in rows.groupby("cell"):
            table = part.pivot(index="rep", columns="metric", values="value").dropna()
            if len(table) and {"p_blp", "p_maxT"} <= set(table.columns):
                out[(path.stem, cell)] = table
    return out


def main() -> int:
    print(f"{'cell':24s} {'R':>4s} " + " ".join(f"w={w:.2f}" for w in WEIGHTS))
    for (scenario, cell), table in parts().items():
        rates = [detection(table["p_blp"].to_numpy(), table["p_maxT"].to_numpy(), w) for w in WEIGHTS]
        print(f"{scenario + ' ' + cell:24s} {len(table):4d} " + " ".join(f"{r:6.3f}" for r in rates))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
