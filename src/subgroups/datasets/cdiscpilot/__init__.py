"""The CDISC pilot study (CDISCPILOT01) as ADaM transport files: ``builtin:cdiscpilot``.

Xanomeline transdermal patch in mild to moderate Alzheimer's disease, 254 subjects randomized to
placebo, low dose (54 mg) or high dose (81 mg). Copied from phuse-org/phuse-scripts
(MIT license, beside the files; provenance in README.md there). Read it with ``data.source:
builtin:cdiscpilot`` and ``data.adam`` naming the files below (see `subgroups.adam`).
"""

from __future__ import annotations

from pathlib import Path

FILES = {
    "adsl.xpt": "ADSL: one row per subject (arm TRT01P, population flags, baseline characteristics)",
    "adtte.xpt": "ADTTE: time to first dermatologic event (PARAMCD TTDE; CNSR = 0 is the event)",
    "adqscibc.xpt": "ADQSCIBC: CIBIC+ score (PARAMCD CIBICVAL) at weeks 8, 16 and 24",
}


def folder() -> Path:
    """Where the built-in files are installed."""
    return Path(__file__).resolve().parent
