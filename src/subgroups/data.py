"""Reading trial data, checking it once at the boundary, and encoding features for the models.

Everything after this module trusts a `TrialData`: two arms coded 0/1 from explicit labels, a
numeric outcome, features assigned to exactly one family each, categorical features one-hot
encoded with a map back to the original column so results speak in original names.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from subgroups.errors import DataError
from subgroups.params import FAMILIES, DataSpec, RunParams, load_params

READERS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".xpt": "xport", ".sas7bdat": "sas7bdat"}
BUILTINS = ("synthetic", "actg175")
MAX_LEVELS = 30
MIN_PER_ARM = 10

# Column names that look like direct identifiers (HIPAA-style list): refused as features.
_IDENTIFIER_NAME = re.compile(
    r"(^|_)(first_?name|last_?name|full_?name|surname|given_?name|patient_?name|initials|mrn|medical_?record|record_?(no|num|number|id)"
    r"|dob|date_?of_?birth|birth_?date|birthday|address|street|city|zip|zip_?code|postcode|postal_?code|phone|telephone|tel"
    r"|mobile|fax|e_?mail|email_?address|ssn|social_?security|nhs_?(no|number)|insurance_?(no|number|id)|passport|ip_?address"
    r"|patient_?id|subject_?id|usubjid|subjid|pid|pidnum)($|_)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().-]{9,}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}$")


@dataclass(frozen=True)
class FeatureEncoder:
    """Turns original feature columns into the numeric matrix the models see, and back to names.

    Numeric features pass through (missing values imputed by the training median, with a missing
    indicator when training data had any); categorical features become one indicator column per
    level. ``original_of`` maps every encoded column to its original feature.
    """

    numeric: tuple[str, ...]
    categorical: dict[str, tuple[str, ...]]
    medians: dict[str, float]
    with_indicator: tuple[str, ...]
    columns: tuple[str, ...]
    original_of: dict[str, str]

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> FeatureEncoder:
        numeric, categorical, medians, indicator = [], {}, {}, []
        columns, original_of = [], {}
        for name in frame.columns:
            col = frame[name]
            if _is_numeric(col):
                numeric.append(name)
                values = pd.to_numeric(col, errors="coerce").astype(float)
                medians[name] = float(np.nanmedian(values)) if values.notna().any() else 0.0
                columns.append(name)
                original_of[name] = name
                if values.isna().any():
                    indicator.append(name)
                    columns.append(f"{name} (missing)")
                    original_of[f"{name} (missing)"] = name
            else:
                levels = tuple(sorted(col.dropna().astype(str).unique()))
                if col.isna().any():
                    levels = (*levels, "(missing)")
                categorical[name] = levels
                for level in levels:
                    encoded = f"{name}={level}"
                    columns.append(encoded)
                    original_of[encoded] = name
        return cls(tuple(numeric), categorical, medians, tuple(indicator), tuple(columns), original_of)

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Encode new data with the same columns as the training data (checked, one-line errors)."""
        missing = [name for name in (*self.numeric, *self.categorical) if name not in frame.columns]
        if missing:
            raise DataError(
                f"new data lacks feature column(s) {', '.join(missing)}; it needs the same columns as the analysed data"
            )
        out: dict[str, np.ndarray] = {}
        for name in self.numeric:
            values = pd.to_numeric(frame[name], errors="coerce").astype(float).to_numpy()
            bad = ~np.isfinite(values) & ~np.isnan(values)
            if bad.any():
                raise DataError(f"column '{name}' has infinite values; replace them or mark them missing")
            isna = np.isnan(values)
            out[name] = np.where(isna, self.medians[name], values)
            if name in self.with_indicator:
                out[f"{name} (missing)"] = isna.astype(float)
        for name, levels in self.categorical.items():
            text = frame[name].astype("string").fillna("(missing)").to_numpy(dtype=object)
            for level in levels:
                out[f"{name}={level}"] = (text == level).astype(float)
        return pd.DataFrame(out, index=frame.index)[list(self.columns)]

    def describe(self, name: str) -> str:
        """'numeric' or 'categorical (k levels)'."""
        return f"categorical ({len(self.categorical[name])} levels)" if name in self.categorical else "numeric"


@dataclass(frozen=True)
class TrialData:
    """A validated two-arm trial: features, treatment (1 = treated), outcome, families."""

    features: pd.DataFrame  # original feature columns, original values (for audit; never rendered row-wise)
    X: pd.DataFrame  # encoded numeric feature matrix
    treatment: np.ndarray  # int 0/1
    outcome: np.ndarray  # float; for time-to-event: the time
    event: np.ndarray | None  # time-to-event only: 1 = event observed
    family_of: dict[str, str]  # original feature -> family
    encoder: FeatureEncoder
    spec: DataSpec
    fingerprint: str  # sha256 of the input (file bytes, or the table's content)
    source: str
    n_read: int
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.treatment.size)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.features.columns)

    @property
    def families(self) -> dict[str, tuple[str, ...]]:
        return {fam: tuple(f for f, g in self.family_of.items() if g == fam) for fam in FAMILIES}

    @property
    def arm_labels(self) -> tuple[str, str]:
        return str(self.spec.treatment.treated), str(self.spec.treatment.control)


# --- reading -------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of a table's column names and values (stable across runs and processes)."""
    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def read_source(spec: DataSpec, base_dir: str | None = None) -> tuple[pd.DataFrame, str, str]:
    """Read the table named by ``data.source``: returns (frame, sha256, label)."""
    source = spec.source
    if not source:
        raise DataError("no data: set data.source to a file path or builtin:synthetic / builtin:actg175")
    if source.startswith("builtin:"):
        return _read_builtin(source.removeprefix("builtin:"), spec)
    path = Path(source).expanduser()
    if not path.is_absolute() and base_dir and (Path(base_dir) / path).exists():
        path = Path(base_dir) / path
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{source}: unknown file type '{path.suffix}'; use .csv, .tsv, .parquet, .xpt or .sas7bdat")
    if not path.is_file():
        raise DataError(f"{source}: data file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{source}: the data file is empty")
    try:
        if kind in ("csv", "tsv"):
            sep = "," if kind == "csv" else "\t"
            with path.open(encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle, delimiter=sep), [])
            repeated = sorted({name for name in header if header.count(name) > 1})
            if repeated:
                raise DataError(f"{source}: column name '{repeated[0]}' appears more than once; rename the duplicates")
            frame = pd.read_csv(path, sep=sep, encoding="utf-8")
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_sas(path, format=kind, encoding="utf-8" if kind == "sas7bdat" else None)
            frame = _decode_bytes(frame)
    except UnicodeDecodeError:
        raise DataError(f"{source}: not readable as UTF-8 text; re-save the file as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{source}: the data file is empty") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{source}: cannot read the {kind} file ({first})") from None
    if frame.shape[0] == 0:
        raise DataError(f"{source}: the data file has no rows")
    return frame, _sha256_file(path), str(source)


def _decode_bytes(frame: pd.DataFrame) -> pd.DataFrame:
    for name in frame.columns:
        if frame[name].dtype == object and frame[name].map(lambda v: isinstance(v, bytes)).any():
            frame[name] = frame[name].map(lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
    return frame


def _read_builtin(name: str, spec: DataSpec) -> tuple[pd.DataFrame, str, str]:
    if name == "synthetic":
        from subgroups.datasets.synthetic import simulate_trial

        sim = spec.simulation
        trial = simulate_trial(scenario=sim.scenario, n=sim.n, seed=sim.seed, b1_rel=sim.b1_rel, level=sim.level)
        label = f"builtin:synthetic ({sim.scenario}, n={sim.n}, seed={sim.seed})"
        return trial.data, frame_fingerprint(trial.data), label
    if name == "actg175":
        from subgroups.datasets.actg175 import load_actg175

        frame = load_actg175()
        return frame, frame_fingerprint(frame), "builtin:actg175 (ACTG 175, lifelines copy)"
    raise DataError(f"unknown built-in data set 'builtin:{name}'; available: {', '.join('builtin:' + b for b in BUILTINS)}")


# --- checking ------------------------------------------------------------------------------------


def _is_numeric(col: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(col) or (
        pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype)
    )


def _match_label(values: pd.Series, label: Any) -> pd.Series:
    """Rows whose arm equals `label`, comparing 1, 1.0 and "1" alike (labels from YAML or files)."""

    def canon(v: Any) -> str:
        if isinstance(v, bool | np.bool_):
            return str(bool(v)).lower()
        if isinstance(v, int | float | np.integer | np.floating) and float(v).is_integer():
            return str(int(v))
        return str(v).strip()

    return values.map(lambda v: canon(v) if pd.notna(v) else None) == canon(label)


def _assign_families(spec: DataSpec, available: list[str]) -> dict[str, str]:
    family_of: dict[str, str] = {}
    if not spec.features:
        return {name: "other" for name in available}
    for family, patterns in spec.features.items():
        for pattern in patterns:
            hits = (
                [c for c in available if fnmatch.fnmatchcase(c, pattern)]
                if any(ch in pattern for ch in "*?[")
                else ([pattern] if pattern in available else [])
            )
            if not hits:
                reserved = pattern in _reserved_columns(spec)
                why = "is the treatment, outcome or id column" if reserved else "matches no column in the data"
                raise DataError(f"data.features.{family}: '{pattern}' {why}")
            for name in hits:
                if name in family_of and family_of[name] != family:
                    raise DataError(f"feature '{name}' is listed in two families ({family_of[name]} and {family}); put it in one")
                family_of[name] = family
    return family_of


def _reserved_columns(spec: DataSpec) -> set[str]:
    return {spec.treatment.column, *spec.outcome.columns, *([spec.id_column] if spec.id_column else [])}


def _screen_identifiers(frame: pd.DataFrame, names: list[str], spec: DataSpec) -> None:
    for name in names:
        if _IDENTIFIER_NAME.search(re.sub(r"[\s.\-]+", "_", str(name))):
            raise DataError(
                f"feature '{name}' looks like a direct identifier; remove it from data.features "
                "(set it as data.id_column if it identifies patients)"
            )
        col = frame[name]
        if _is_numeric(col):
            continue
        text = col.dropna().astype(str).head(200)
        if text.empty:
            continue
        for pattern, what in ((_EMAIL, "e-mail addresses"), (_DATE, "dates"), (_PHONE, "phone numbers")):
            if text.map(lambda v, p=pattern: bool(p.match(v))).mean() > 0.5:
                raise DataError(f"feature '{name}' holds what look like {what}; identifiers cannot be features, remove it")


def _check_features(frame: pd.DataFrame, names: list[str]) -> None:
    for name in names:
        col = frame[name]
        if col.isna().all():
            raise DataError(f"feature '{name}' is missing for every patient; remove it from data.features")
        if _is_numeric(col):
            values = pd.to_numeric(col, errors="coerce").astype(float)
            if np.isinf(values).any():
                raise DataError(f"feature '{name}' has infinite values; replace them or mark them missing")
        elif col.dropna().astype(str).nunique() > MAX_LEVELS:
            raise DataError(
                f"feature '{name}' is text with {col.dropna().astype(str).nunique()} different values "
                f"(more than {MAX_LEVELS}); it looks like free text or an identifier: recode or remove it"
            )
        if col.dropna().astype(str).nunique() < 2:
            raise DataError(f"feature '{name}' has the same value for every patient; remove it from data.features")


def _outcome_arrays(frame: pd.DataFrame, spec: DataSpec) -> tuple[np.ndarray, np.ndarray | None]:
    out = spec.outcome
    if out.type == "time_to_event":
        time = pd.to_numeric(frame[out.time], errors="coerce")
        if time.isna().any() and frame[out.time].notna().all():
            raise DataError(f"time column '{out.time}' is not numeric")
        if (time <= 0).any():
            raise DataError(f"time column '{out.time}' has zero or negative times; survival times must be > 0")
        event_raw = pd.to_numeric(frame[out.event], errors="coerce")
        values = set(event_raw.dropna().unique())
        if not values <= {0, 1} or (event_raw.isna() & frame[out.event].notna()).any():
            raise DataError(f"event column '{out.event}' must be 0 (censored) or 1 (event)")
        return time.to_numpy(float), event_raw.to_numpy(float)
    raw = frame[out.column]
    values = pd.to_numeric(raw, errors="coerce")
    if (values.isna() & raw.notna()).any():
        bad = raw[values.isna() & raw.notna()].astype(str).iloc[0] if out.type == "continuous" else None
        detail = f" (e.g. '{bad}')" if bad is not None and len(bad) < 20 and not bad.replace(".", "").isdigit() else ""
        raise DataError(f"outcome column '{out.column}' is not numeric{detail}; recode it as numbers")
    if np.isinf(values).any():
        raise DataError(f"outcome column '{out.column}' has infinite values")
    if out.type == "binary":
        levels = set(values.dropna().unique())
        if not levels <= {0, 1}:
            raise DataError(
                f"binary outcome '{out.column}' has {len(levels)} different values; a binary outcome must be coded 0/1"
            )
    return values.to_numpy(float), None


def load_trial(params: RunParams | DataSpec | dict | str | Path, data: pd.DataFrame | str | Path | None = None) -> TrialData:
    """Read and check a trial as described by the parameters' ``data`` section.

    Parameters
    ----------
    params : RunParams, DataSpec, dict or path to YAML
    data : DataFrame or path, optional
        Overrides ``data.source``.
    """
    base_dir = None
    if isinstance(params, DataSpec):
        spec = params
    else:
        run = params if isinstance(params, RunParams) else load_params(params)
        spec, base_dir = run.data, run.base_dir
    if isinstance(data, pd.DataFrame):
        frame, fingerprint, source = data.copy(), frame_fingerprint(data), "data frame"
    else:
        if data is not None:
            spec = spec.model_copy(update={"source": str(data)})
        frame, fingerprint, source = read_source(spec, base_dir)
    return prepare_trial(frame, spec, fingerprint, source)


def prepare_trial(frame: pd.DataFrame, spec: DataSpec, fingerprint: str, source: str) -> TrialData:
    """Check a raw table against the data spec and build a `TrialData` (one-line errors)."""
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise DataError(f"{source}: column name '{dup}' appears more than once; rename the duplicates")
    frame.columns = [str(c) for c in frame.columns]
    n_read = len(frame)
    for role, name in (("treatment", spec.treatment.column), *((f"outcome {c}", c) for c in spec.outcome.columns)):
        if name not in frame.columns:
            close = [c for c in frame.columns if c.lower() == name.lower()]
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise DataError(f"{source}: {role} column '{name}' not found{hint}")
    if spec.id_column:
        if spec.id_column not in frame.columns:
            raise DataError(f"{source}: id column '{spec.id_column}' not found")
        ids = frame[spec.id_column]
        if ids.isna().any():
            raise DataError(f"id column '{spec.id_column}' has missing ids")
        if ids.duplicated().any():
            raise DataError(f"id column '{spec.id_column}' has {int(ids.duplicated().sum())} duplicate id(s); ids must be unique")

    # Arms: explicit labels only.
    arm = frame[spec.treatment.column]
    if arm.isna().any():
        raise DataError(
            f"treatment column '{spec.treatment.column}' is missing for {int(arm.isna().sum())} patient(s); fix or remove those rows"
        )
    is_treated = _match_label(arm, spec.treatment.treated)
    is_control = _match_label(arm, spec.treatment.control)
    labels = sorted(map(str, arm.astype(str).unique()))
    shown = ", ".join(labels[:8]) + (" ..." if len(labels) > 8 else "")
    for which, mask, label in (("treated", is_treated, spec.treatment.treated), ("control", is_control, spec.treatment.control)):
        if not mask.any():
            raise DataError(
                f"{which} label '{label}' not found in treatment column '{spec.treatment.column}' (labels present: {shown})"
            )
    keep = is_treated | is_control
    dropped = {"other arms": int((~keep).sum())} if (~keep).any() else {}
    frame = frame.loc[keep].reset_index(drop=True)
    treatment = _match_label(frame[spec.treatment.column], spec.treatment.treated).to_numpy().astype(int)

    reserved = _reserved_columns(spec)
    available = [c for c in frame.columns if c not in reserved]
    family_of = _assign_families(spec, available)
    names = list(family_of)
    if not names:
        raise DataError(f"{source}: no feature columns; list features under data.features")
    _screen_identifiers(frame, names, spec)

    # Missing outcomes are never imputed: those patients are dropped and counted.
    outcome_missing = frame[list(spec.outcome.columns)].isna().any(axis=1)
    if outcome_missing.all():
        raise DataError(f"outcome '{spec.outcome.name}' is missing for every patient")
    if outcome_missing.any():
        dropped["missing outcome"] = int(outcome_missing.sum())
        frame, treatment = frame.loc[~outcome_missing].reset_index(drop=True), treatment[~outcome_missing.to_numpy()]
    if spec.missing == "error" and frame[names].isna().any().any():
        worst = frame[names].isna().sum().idxmax()
        raise DataError(f"feature '{worst}' has missing values and data.missing is 'error'; use 'impute' or 'drop'")
    if spec.missing == "drop":
        incomplete = frame[names].isna().any(axis=1)
        if incomplete.any():
            dropped["missing features"] = int(incomplete.sum())
            frame, treatment = frame.loc[~incomplete].reset_index(drop=True), treatment[~incomplete.to_numpy()]
    for which, count in (("treated", int(treatment.sum())), ("control", int((1 - treatment).sum()))):
        if count < MIN_PER_ARM:
            raise DataError(
                f"only {count} patient(s) in the {which} arm after cleaning; at least {MIN_PER_ARM} per arm are needed"
            )
    _check_features(frame, names)

    outcome, event = _outcome_arrays(frame, spec)
    if spec.outcome.type != "time_to_event" and np.nanstd(outcome) == 0:
        raise DataError(f"outcome '{spec.outcome.name}' has the same value for every patient; nothing to analyse")

    features = frame[names].copy()
    encoder = FeatureEncoder.fit(features)
    X = encoder.transform(features)
    return TrialData(
        features=features,
        X=X,
        treatment=treatment,
        outcome=outcome,
        event=event,
        family_of=family_of,
        encoder=encoder,
        spec=spec,
        fingerprint=fingerprint,
        source=source,
        n_read=n_read,
        dropped=dropped,
    )
