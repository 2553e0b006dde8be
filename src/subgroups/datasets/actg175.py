"""ACTG 175 (Hammer et al., NEJM 1996): the copy of the trial file shipped inside lifelines.

2,139 adults with HIV-1 and CD4 counts of 200-500 cells/mm3, randomized to four arms. Only baseline
covariates are kept as features; post-randomization measurements are either outcomes or dropped.

Column coding (from the speff2trial R documentation of the same file):

| column | meaning |
|---|---|
| patient_id | patient number (``pidnum``); an identifier, never a feature |
| arm | ``ZDV`` (zidovudine alone, arm 0), ``ZDV+ddI`` (zidovudine + didanosine, arm 1), ``ZDV+ddC`` (zidovudine + zalcitabine, arm 2), ``ddI`` (didanosine alone, arm 3) |
| age | age at baseline, years |
| wtkg | weight at baseline, kg |
| hemo | haemophilia (0 no, 1 yes) |
| homo | homosexual activity (0 no, 1 yes) |
| drugs | history of intravenous drug use (0 no, 1 yes) |
| karnof | Karnofsky score (0-100) |
| oprior | non-zidovudine antiretroviral therapy before the trial (0 no, 1 yes) |
| z30 | zidovudine in the 30 days before the trial (0 no, 1 yes) |
| preanti | days of antiretroviral therapy before the trial |
| race | 0 white, 1 non-white |
| gender | 0 female, 1 male |
| str2 | antiretroviral history (0 naive, 1 experienced) |
| strat | antiretroviral history stratum (1 naive, 2 over 1 but at most 52 weeks, 3 over 52 weeks) |
| symptom | symptomatic indicator (0 asymptomatic, 1 symptomatic) |
| cd40, cd80 | CD4 and CD8 counts at baseline (cells/mm3) |
| cd420 | outcome: CD4 count at 20 +/- 5 weeks |
| cd496 | outcome: CD4 count at 96 +/- 5 weeks (missing for many patients) |
| days | outcome: days to the first of a > 50% CD4 decline, AIDS-defining event or death, or censoring |
| event | outcome: 1 = that event occurred, 0 = censored (``cens`` in the source file) |

Dropped: ``treat`` (derived from the arm), ``offtrt`` (off treatment before 96 weeks), ``r``
(cd496 observed), ``cd820`` (CD8 at 20 weeks): all post-randomization; ``zprior`` (zidovudine
before the trial: 1 for every patient); the file's row number.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ARMS = {0: "ZDV", 1: "ZDV+ddI", 2: "ZDV+ddC", 3: "ddI"}
BASELINE = (
    "age", "wtkg", "hemo", "homo", "drugs", "karnof", "oprior", "z30", "preanti",
    "race", "gender", "str2", "strat", "symptom", "cd40", "cd80",
)  # fmt: skip
OUTCOMES = ("cd420", "cd496", "days", "event")
FEATURE_FAMILIES = {
    "lifestyle": ["homo", "drugs", "wtkg"],
    "disease": ["hemo", "karnof", "oprior", "z30", "preanti", "str2", "strat", "symptom", "cd40", "cd80"],
    "other": ["age", "race", "gender"],
}


def source_path() -> Path:
    """Where lifelines keeps its copy of the trial file."""
    import lifelines.datasets

    return Path(lifelines.datasets.__file__).parent / "ACTG175.csv"


def load_actg175() -> pd.DataFrame:
    """ACTG 175 with named arms, baseline covariates and outcomes (see the module docstring)."""
    raw = pd.read_csv(source_path())
    frame = pd.DataFrame(
        {
            "patient_id": raw["pidnum"].astype(int).astype(str),
            "arm": raw["arms"].map(ARMS),
            **{name: raw[name] for name in BASELINE},
            "cd420": raw["cd420"].astype(float),
            "cd496": raw["cd496"].astype(float),
            "days": raw["days"].astype(float),
            "event": raw["cens"].astype(int),
        }
    )
    return frame
