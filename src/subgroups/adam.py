"""CDISC ADaM input: ADSL merged with one parameter of a BDS dataset into one row per subject.

ADaM (CDISC Analysis Data Model) holds a trial as SAS transport files: ADSL, one row per subject
(arm ``TRT01P``, population flags such as ``ITTFL``, baseline characteristics), and BDS datasets
with one row per subject, parameter (``PARAMCD``) and analysis visit (``AVISIT``), the value in
``AVAL``. A time-to-event BDS such as ADTTE codes censoring in ``CNSR``: **CNSR = 0 is an event,
CNSR >= 1 censored**, the opposite of the usual event flag, so the event indicator ``EVENT`` is
derived here (1 where CNSR = 0) and CNSR itself never reaches the analysis.

`read_adam` keeps the ADSL subjects of the population (flag = "Y"), selects the BDS records of the
parameter (and visit, and record flag such as ``ANL01FL`` = "Y"), refuses more than one record per
subject, and merges by ``USUBJID`` (subjects without a record keep a missing outcome, which
`subgroups.data.prepare_trial` drops and counts). Identifiers (``STUDYID``, ``USUBJID``, ``SUBJID``,
and ``SITEID`` unless listed as a feature) and dates (``*DT``, ``*DTC``, ``*DTM``, ``*TM``) never
become features. Variable labels come from the transport files' metadata.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from subgroups.errors import DataError
from subgroups.params import ADAM_EVENT, ADAM_ID, ADAM_TIME, DataSpec

BUILTIN = "builtin:cdiscpilot"
IDENTIFIERS = ("STUDYID", "USUBJID", "SUBJID")  # never features
SITE = "SITEID"  # a feature only when listed in data.features
_DATE_NAME = re.compile(r"(DT|DTC|DTM|TM)$", re.IGNORECASE)
_SAS_SUFFIXES = {".xpt": "xport", ".sas7bdat": "sas7bdat"}


@dataclass(frozen=True)
class AdamTable:
    """One row per subject: the kept ADSL variables, ``AVAL`` (and ``EVENT``), with labels and provenance."""

    frame: pd.DataFrame
    labels: dict[str, str]  # variable -> label from the transport metadata
    fingerprint: str  # sha256 over both files' sha256
    source: str  # which files, parameter, population, visit and record flag were analysed
    selection: dict[str, object]  # the same, as values (population counts included)
    time_unit: str | None = None  # a time to event's unit from AVALU ("days", "weeks", "months", "years"), when the BDS has it
    units: dict[str, str] = field(default_factory=dict)  # AVAL -> AVALU of a continuous or binary parameter (one value)


def read_adam(spec: DataSpec, base_dir: str | None = None) -> AdamTable:
    """Read ``data.adam``: ADSL and the chosen BDS parameter merged by USUBJID (one-line `DataError` on any problem)."""
    adam = spec.adam
    if adam is None:
        raise DataError("data.adam is not set; name the ADSL and BDS files in data.adam")
    adsl_path, bds_path = _path(spec, "adsl", base_dir), _path(spec, "bds", base_dir)
    adsl, adsl_labels, adsl_sha = _read(adsl_path, f"data.adam.adsl {adam.adsl}")
    bds, bds_labels, bds_sha = _read(bds_path, f"data.adam.bds {adam.bds}")
    adsl_name, bds_name = adsl_path.name, bds_path.name
    for frame, name in ((adsl, adsl_name), (bds, bds_name)):
        if ADAM_ID not in frame.columns:
            raise DataError(f"{name}: has no {ADAM_ID} column; ADaM datasets are merged by {ADAM_ID}")
    _unique_subjects(adsl, adsl_name)

    # Population: an ADSL flag, kept where "Y".
    flag = adam.population
    if flag not in adsl.columns:
        flags = [c for c in adsl.columns if c.upper().endswith("FL")]
        raise DataError(
            f"data.adam.population '{flag}' is not a variable of {adsl_name}; population flags there: {', '.join(flags) or 'none'}"
        )
    in_population = _is_yes(adsl[flag])
    if not in_population.any():
        raise DataError(f"data.adam.population: no subject of {adsl_name} has {flag} = 'Y'; choose another population flag")
    population = adsl.loc[in_population]

    arm = adam.treatment
    arm_from_bds = arm not in adsl.columns
    if arm_from_bds and arm not in bds.columns:
        raise DataError(
            f"data.adam.treatment '{arm}' is a variable of neither {adsl_name} nor {bds_name}; use e.g. TRT01P (ADSL) or TRTP (BDS)"
        )

    records, param = _records(bds, bds_name, spec)
    records = records.loc[records[ADAM_ID].isin(population[ADAM_ID])]
    _one_record_per_subject(records, bds, bds_name, spec)
    outcome = _outcome(records, bds_name, spec)
    time_unit = _time_unit(records, bds_name, spec) if spec.outcome.type == "time_to_event" else None
    units = {} if spec.outcome.type == "time_to_event" else _value_unit(records)

    _check_listed_features(spec, adsl_name)
    listed = {name for names in spec.features.values() for name in names}
    keep = [
        c
        for c in population.columns
        if (c == ADAM_ID or c not in IDENTIFIERS)  # USUBJID: the merge key and id column, never a feature
        and (c != SITE or SITE in listed)
        and c != flag  # "Y" for every subject kept
        and not _is_date(population[c], c)
        and c not in outcome.columns.drop(ADAM_ID)
    ]
    if arm_from_bds:
        outcome[arm] = records[arm].to_numpy()
    frame = population[keep].merge(outcome, on=ADAM_ID, how="inner" if arm_from_bds else "left", validate="one_to_one")
    frame = frame.reset_index(drop=True)

    labels = {c: adsl_labels[c] for c in keep if adsl_labels.get(c)}
    what = f"{param} at {adam.visit}" if adam.visit else param
    labels[ADAM_TIME] = what
    if ADAM_EVENT in frame.columns:
        labels[ADAM_EVENT] = f"{param}: event (CNSR = 0)"
    if "BASE" in outcome.columns:
        labels["BASE"] = f"{param}, baseline value"
    if arm_from_bds and bds_labels.get(arm):
        labels[arm] = bds_labels[arm]

    selection: dict[str, object] = {
        "adsl": adsl_name,
        "bds": bds_name,
        "paramcd": adam.paramcd,
        "param": param,
        "population": flag,
        "population_subjects": int(in_population.sum()),
        "adsl_subjects": len(adsl),
        "visit": adam.visit,
        "record_flag": adam.record_flag,
        "treatment": arm,
        "records": len(records),
    }
    fingerprint = hashlib.sha256(f"{adsl_sha}\n{bds_sha}".encode()).hexdigest()
    return AdamTable(frame, labels, fingerprint, describe(selection, builtin=spec.source == BUILTIN), selection, time_unit, units)


def _avalu(records: pd.DataFrame) -> list[str]:
    """The distinct non-blank AVALU values of the selected records, sorted ([] without AVALU)."""
    if "AVALU" not in records.columns:
        return []
    return sorted({str(v).strip() for v in records["AVALU"].dropna() if str(v).strip()})


def _value_unit(records: pd.DataFrame) -> dict[str, str]:
    """{AVAL: its unit} when the selected records' AVALU holds one value (e.g. "mg/dL"); {} otherwise."""
    values = _avalu(records)
    return {ADAM_TIME: values[0]} if len(values) == 1 else {}


UNITS = {  # AVALU spellings of a time unit (upper case) -> data.outcome.time_unit
    **dict.fromkeys(("DAY", "DAYS", "D"), "days"),
    **dict.fromkeys(("WEEK", "WEEKS", "WK", "WKS", "W"), "weeks"),
    **dict.fromkeys(("MONTH", "MONTHS", "MO", "MON"), "months"),
    **dict.fromkeys(("YEAR", "YEARS", "YR", "YRS", "Y"), "years"),
}


def _time_unit(records: pd.DataFrame, name: str, spec: DataSpec) -> str | None:
    """The unit of AVAL from the selected records' AVALU (one value, a time unit), None without AVALU; a one-line
    `DataError` when AVALU holds several units, one that is not a time unit the suite knows, or contradicts
    ``data.outcome.time_unit``."""
    values = sorted({v.upper() for v in _avalu(records)})
    if not values:
        return None
    param = spec.adam.paramcd
    if len(values) > 1:
        raise DataError(f"{name}: AVALU of parameter {param} holds several units ({', '.join(values)}); AVAL must be in one unit")
    unit = UNITS.get(values[0])
    declared = spec.outcome.time_unit
    if unit is None:
        if declared is not None:
            return None  # declared by the analyst; AVALU spells it in a way the suite does not read
        raise DataError(
            f"{name}: AVALU of parameter {param} is {values[0]!r}, not a unit the suite reads (days, weeks, months or "
            "years); declare data.outcome.time_unit"
        )
    if declared is not None and declared != unit:
        raise DataError(
            f"{name}: AVALU of parameter {param} says {values[0]} but data.outcome.time_unit is {declared}; correct one of them"
        )
    return unit


def describe(selection: dict[str, object], builtin: bool = False) -> str:
    """One sentence naming the files, parameter, population, visit and record flag analysed."""
    parts = [
        f"parameter {selection['paramcd']} ({selection['param']})",
        f"population {selection['population']} = Y ({selection['population_subjects']} of {selection['adsl_subjects']} subjects)",
    ]
    if selection["visit"]:
        parts.append(f"visit {selection['visit']}")
    if selection["record_flag"]:
        parts.append(f"records with {selection['record_flag']} = Y")
    parts.append(f"arm from {selection['treatment']}")
    where = f"{BUILTIN} (CDISC pilot study CDISCPILOT01), " if builtin else ""
    return f"{where}ADaM {selection['adsl']} + {selection['bds']}: " + "; ".join(parts)


# --- reading -------------------------------------------------------------------------------------


def _path(spec: DataSpec, role: str, base_dir: str | None) -> Path:
    name = getattr(spec.adam, role)
    if spec.source == BUILTIN:
        from subgroups.datasets import cdiscpilot

        if name not in cdiscpilot.FILES:
            raise DataError(f"data.adam.{role} '{name}' is not a file of {BUILTIN}; its files are {', '.join(cdiscpilot.FILES)}")
        return cdiscpilot.folder() / name
    path = Path(name).expanduser()
    if not path.is_absolute() and base_dir and (Path(base_dir) / path).exists():
        path = Path(base_dir) / path
    return path


def _read(path: Path, where: str) -> tuple[pd.DataFrame, dict[str, str], str]:
    """(frame, labels, sha256) of one SAS dataset, read exactly with pyreadstat (see `subgroups.data.read_source`)."""
    import pyreadstat

    from subgroups.data import _read_sas, _sha256_file

    kind = _SAS_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{where}: ADaM datasets are read from SAS files, .xpt (transport v5 or v8) or .sas7bdat")
    if path.is_dir() or not path.is_file():
        raise DataError(f"{where}: file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{where}: the file is empty")
    try:
        frame = _read_sas(path, kind)
        reader = pyreadstat.read_xport if kind == "xport" else pyreadstat.read_sas7bdat
        _, meta = reader(str(path), metadataonly=True)
    except (ValueError, OSError, pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{where}: cannot read the SAS file ({first})") from None
    if frame.shape[0] == 0:
        raise DataError(f"{where}: the dataset has no rows")
    frame.columns = [str(c) for c in frame.columns]
    labels = {str(k): str(v).strip() for k, v in (meta.column_names_to_labels or {}).items() if v and str(v).strip()}
    return frame, labels, _sha256_file(path)


def _unique_subjects(adsl: pd.DataFrame, name: str) -> None:
    from subgroups.data import _check_ids

    try:
        _check_ids(adsl[ADAM_ID], ADAM_ID)
    except DataError as exc:
        raise DataError(f"{name} (ADSL, one row per subject): {exc}") from None


def _is_yes(values: pd.Series) -> pd.Series:
    return values.map(lambda v: isinstance(v, str) and v.strip().upper() == "Y").astype(bool)


def _text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: v.strip() if isinstance(v, str) else v)


def _shown(values: pd.Series, limit: int = 8) -> str:
    levels = sorted({str(v) for v in values.dropna()})
    return ", ".join(levels[:limit]) + (f" and {len(levels) - limit} more" if len(levels) > limit else "") or "none"


def _records(bds: pd.DataFrame, name: str, spec: DataSpec) -> tuple[pd.DataFrame, str]:
    """The BDS records of the parameter, visit and record flag; and the parameter's description (PARAM)."""
    adam = spec.adam
    for column in ("PARAMCD", ADAM_TIME):
        if column not in bds.columns:
            raise DataError(f"{name}: has no {column} column; data.adam.bds must be a BDS dataset (PARAMCD, AVAL)")
    codes = _text(bds["PARAMCD"])
    records = bds.loc[codes == adam.paramcd]
    if records.empty:
        raise DataError(f"data.adam.paramcd '{adam.paramcd}' is not a PARAMCD of {name}; parameters there: {_shown(codes)}")
    param = adam.paramcd
    if "PARAM" in records.columns and records["PARAM"].notna().any():
        param = str(_text(records["PARAM"]).dropna().iloc[0])
    if adam.visit is not None:
        if "AVISIT" not in records.columns:
            raise DataError(f"data.adam.visit is set but {name} has no AVISIT column; remove data.adam.visit")
        visits = _text(records["AVISIT"])
        if not (visits == adam.visit.strip()).any():
            raise DataError(
                f"data.adam.visit '{adam.visit}' is not an AVISIT of parameter {adam.paramcd} in {name}; visits there: {_shown(visits)}"
            )
        records = records.loc[visits == adam.visit.strip()]
    if adam.record_flag is not None:
        if adam.record_flag not in records.columns:
            raise DataError(f"data.adam.record_flag '{adam.record_flag}' is not a variable of {name}")
        flagged = _is_yes(records[adam.record_flag])
        if not flagged.any():
            raise DataError(
                f"data.adam.record_flag: no record of parameter {adam.paramcd} in {name} has {adam.record_flag} = 'Y'"
            )
        records = records.loc[flagged]
    return records, param


def _one_record_per_subject(records: pd.DataFrame, bds: pd.DataFrame, name: str, spec: DataSpec) -> None:
    adam = spec.adam
    counts = records[ADAM_ID].value_counts()
    repeated = counts[counts > 1]
    if repeated.empty:
        return
    used = [f"PARAMCD = {adam.paramcd}", f"{adam.population} = Y"]
    used += [f"AVISIT = {adam.visit}"] if adam.visit else []
    used += [f"{adam.record_flag} = Y"] if adam.record_flag else []
    if adam.visit is None and "AVISIT" in bds.columns:
        todo = "set data.adam.visit to one analysis visit (AVISIT)"
    elif adam.record_flag is None:
        flags = [c for c in bds.columns if re.fullmatch(r"ANL\d\dFL", c, re.IGNORECASE)]
        todo = f"set data.adam.record_flag (e.g. {flags[0] if flags else 'ANL01FL'}) to select one record per subject"
    else:
        todo = "select one record per subject in the BDS (e.g. another record flag)"
    raise DataError(
        f"{name}: {len(repeated)} subject(s) have more than one record after filtering ({', '.join(used)}; "
        f"up to {int(repeated.max())} records each); {todo}"
    )


def _outcome(records: pd.DataFrame, name: str, spec: DataSpec) -> pd.DataFrame:
    """USUBJID, AVAL (and EVENT from CNSR, and BASE when the BDS has it) of the selected records."""
    adam = spec.adam
    raw = records[ADAM_TIME]
    value = pd.to_numeric(raw, errors="coerce")
    if (value.isna() & raw.notna()).any():
        raise DataError(f"{name}: AVAL of parameter {adam.paramcd} is not numeric; choose a parameter with numeric AVAL")
    out = pd.DataFrame({ADAM_ID: records[ADAM_ID].to_numpy(), ADAM_TIME: value.to_numpy(float)})
    censoring = records["CNSR"] if "CNSR" in records.columns else pd.Series(np.nan, index=records.index)
    time_to_event = spec.outcome.type == "time_to_event"
    if censoring.notna().any() and not time_to_event:
        raise DataError(
            f"parameter {adam.paramcd} in {name} has CNSR values, so AVAL is a time to event: set data.outcome.type to "
            "time_to_event (an event or censoring time analysed as a plain number would ignore censoring)"
        )
    if time_to_event:
        if not censoring.notna().any():
            raise DataError(
                f"parameter {adam.paramcd} in {name} has no CNSR (censoring) values, so it is not a time to event; "
                "set data.outcome.type to continuous or binary, or choose a time-to-event parameter"
            )
        code = pd.to_numeric(censoring, errors="coerce")
        if (code.isna() & censoring.notna()).any() or (code.dropna() < 0).any() or (code.dropna() % 1 != 0).any():
            raise DataError(
                f"{name}: CNSR of parameter {adam.paramcd} must be 0 (event) or a positive whole number (censored); "
                f"values found: {_shown(censoring)}"
            )
        # ADaM: CNSR = 0 is the event, any CNSR >= 1 a censoring (the reason is coded by the value).
        out[ADAM_EVENT] = np.where(code.isna(), np.nan, (code == 0).astype(float))
    if "BASE" in records.columns and records["BASE"].notna().any():
        out["BASE"] = pd.to_numeric(records["BASE"], errors="coerce").to_numpy(float)
    return out


def _is_date(values: pd.Series, name: str) -> bool:
    from subgroups.data import _holds_dates

    return bool(_DATE_NAME.search(name)) or _holds_dates(values)


def _check_listed_features(spec: DataSpec, adsl_name: str) -> None:
    """A feature listed by name that ADaM says is an identifier or a date: one line saying so."""
    for family, names in spec.features.items():
        for name in names:
            if any(ch in name for ch in "*?["):
                continue  # patterns match only the variables kept
            if name in IDENTIFIERS:
                raise DataError(f"data.features.{family}: '{name}' identifies subjects in ADaM; identifiers are never features")
            if _DATE_NAME.search(name):
                raise DataError(
                    f"data.features.{family}: '{name}' is an ADaM date variable (*DT, *DTC, *DTM, *TM); a date is not a "
                    "feature: remove it, or use a duration derived from it (e.g. DURDIS)"
                )
