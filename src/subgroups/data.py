"""Reading trial data, checking it once at the boundary, and encoding features for the models.

Everything after this module trusts a `TrialData`: two arms coded 0/1 from explicit labels, a
numeric outcome, features assigned to exactly one family each, categorical features one-hot
encoded with a map back to the original column so results speak in original names.
"""

from __future__ import annotations

import csv
import datetime
import fnmatch
import gzip
import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from subgroups.errors import DataError, ParameterError
from subgroups.params import FAMILIES, DataSpec, RunParams, load_params

READERS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet", ".xpt": "xport", ".sas7bdat": "sas7bdat"}
BUILTINS = ("synthetic", "actg175", "cdiscpilot")
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
_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")
_MONTH = (
    r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|nov(ember)?|dec(ember)?)"
)
# Dates in any common spelling, ISO or not, optionally with a time: a date is not a number and can identify a patient.
_DATE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2021-03-15, 2021/03/15, 2021.3.15
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 15.03.2021, 03/15/21, 15-03-2021
    rf"|\d{{1,2}}[-/ ]?{_MONTH}\.?[-/ ,]*\d{{2,4}}"  # 15-Mar-2021, 15MAR2021 (SAS DATE9.), 15 March 2021
    rf"|{_MONTH}\.? \d{{1,2}},? \d{{4}})"  # March 15, 2021
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?\s*(z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)


class DataWarning(UserWarning):
    """Something in the data deserves a look but does not stop the analysis (e.g. repeated rows)."""


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
    notes: tuple[str, ...] = ()  # warnings about the input (e.g. duplicated rows), also issued as DataWarning
    repeated_rows: int = 0  # rows read that repeat an earlier row exactly (apart from the id)
    far_outcomes: int = 0  # continuous outcome values more than FAR_IQRS interquartile ranges from the median
    # column -> variable label: `data.labels` of the parameters, else the SAS transport metadata, when known
    labels: dict[str, str] = field(default_factory=dict)
    # column -> unit from the data files (ADaM AVALU), when known; `data.labels` units take precedence (`units`)
    file_units: dict[str, str] = field(default_factory=dict)

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

    @property
    def arm_names(self) -> tuple[str, str]:
        """How the reports name the arms: `data.treatment.labels`, else the arms' values (`arm_labels`)."""
        names = self.spec.treatment.labels
        treated, control = self.arm_labels
        return names.treated or treated, names.control or control

    @property
    def units(self) -> dict[str, str]:
        """column -> unit, from `data.labels`, else from the data files (ADaM AVALU)."""
        declared = {name: entry.unit for name, entry in self.spec.labels.items() if entry.unit and name in self.labels}
        return {**{k: v for k, v in self.file_units.items() if k in self.labels}, **declared}

    def __repr__(self) -> str:  # the tables and arrays would fill a screen
        treated, control = self.arm_labels
        families = ", ".join(f"{fam} {len(names)}" for fam, names in self.families.items() if names)
        return (
            f"<TrialData: {self.source}, {self.n} patients ({int(self.treatment.sum())} on {treated}, "
            f"{int((1 - self.treatment).sum())} on {control}); outcome {self.spec.outcome.name!r} ({self.spec.outcome.type}); "
            f"{len(self.family_of)} features ({families}); sha256 {self.fingerprint[:12]}…>"
        )


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
    """Read the table named by ``data.source``: returns (frame, sha256, label); a file's label is its name
    without the folder (it is shown in shared reports; the run folder's ``params.yaml`` keeps the path).

    SAS files (XPORT v5 and v8, ``.sas7bdat``) are read with pyreadstat (ReadStat), which decodes
    IBM and IEEE doubles exactly; ``pandas.read_sas`` is not used because it turns every 0 in an
    XPORT v5 file into 5.4e-79 and refuses XPORT v8. A blank SAS character value is SAS's missing
    value, so it becomes missing here, as an empty CSV cell does.
    """
    source = spec.source
    if not source:
        raise DataError("no data: set data.source to a file path or builtin:synthetic / builtin:actg175")
    if source.startswith("builtin:"):
        return _read_builtin(source.removeprefix("builtin:"), spec)
    path = Path(source).expanduser()
    if not path.is_absolute() and base_dir and (Path(base_dir) / path).exists():
        path = Path(base_dir) / path
    if path.is_dir():
        raise DataError(
            f"{source}: is a folder, not a data file; set data.source to the file inside it (e.g. {source}/trial.csv)"
        )
    kind, compressed = _file_kind(path, source)
    if not path.is_file():
        raise DataError(f"{source}: data file not found")
    if path.stat().st_size == 0:
        raise DataError(f"{source}: the data file is empty")
    _check_content(path, source, kind, compressed)
    try:
        if kind in ("csv", "tsv"):
            frame = _read_delimited(path, source, kind, compressed)
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = _read_sas(path, kind)
    except DataError:
        raise
    except UnicodeDecodeError:
        raise DataError(f"{source}: not readable as UTF-8 text; re-save the file as UTF-8") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{source}: the data file is empty") from None
    except (pd.errors.ParserError, csv.Error, ValueError, OSError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{source}: cannot read the {kind} file ({first})") from None
    if frame.shape[0] == 0:
        raise DataError(f"{source}: the data file has no rows")
    return frame, _sha256_file(path), path.name  # the name only: reports are shared, the folder is the analyst's


_SPREADSHEETS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".numbers")
_COMPRESSED = (".gz", ".zip", ".bz2", ".xz", ".zst", ".7z", ".tar", ".tgz", ".rar")
_SUPPORTED = ".csv, .tsv, .csv.gz, .tsv.gz, .parquet, .xpt (SAS transport v5 or v8) or .sas7bdat"


def _file_kind(path: Path, source: str) -> tuple[str, bool]:
    """(reader, gzip-compressed) from the file name; spreadsheets and archives get a message saying what to do."""
    suffix = path.suffix.lower()
    inner = Path(path.stem).suffix.lower()
    if suffix in _SPREADSHEETS:
        raise DataError(
            f"{source}: is a spreadsheet ({suffix}); export the sheet as CSV (UTF-8, comma-separated) and use that file"
        )
    if suffix == ".gz" and READERS.get(inner) in ("csv", "tsv"):
        return READERS[inner], True
    if suffix in _COMPRESSED:
        raise DataError(
            f"{source}: is a compressed file ({suffix}); extract the data file from it and set data.source to that file "
            "(gzip-compressed .csv.gz and .tsv.gz are read directly)"
        )
    kind = READERS.get(suffix)
    if kind is None:
        raise DataError(f"{source}: unknown file type '{path.suffix}'; use {_SUPPORTED}")
    return kind, False


def _check_content(path: Path, source: str, kind: str, compressed: bool) -> None:
    """A file whose bytes are a zip, spreadsheet or gzip although its name says otherwise."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if compressed or kind == "parquet":
        return
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(
            f"{source}: is a spreadsheet or zip archive although it is named {path.suffix}; "
            "export the sheet as CSV (UTF-8, comma-separated), or extract the data file, and use that"
        )
    if head.startswith(b"\x1f\x8b"):
        raise DataError(f"{source}: is gzip-compressed although it is named {path.suffix}; rename it to {path.name}.gz")


_DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _read_delimited(path: Path, source: str, kind: str, compressed: bool) -> pd.DataFrame:
    sep = "," if kind == "csv" else "\t"
    opener = gzip.open if compressed else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        first_line = handle.readline()
    header = next(csv.reader([first_line], delimiter=sep), [])
    if len(header) <= 1:
        counts = {d: first_line.count(d) for d in _DELIMITERS if d != sep}
        likely = max(counts, key=counts.get)
        if counts[likely]:
            base = path.name.removesuffix(".gz").rsplit(".", 1)[0]
            gz = ".gz" if compressed else ""
            todo = {
                "\t": f"name the file {base}.tsv{gz} (tab-separated)",
                ",": f"name the file {base}.csv{gz} (comma-separated)",
            }.get(
                likely, "re-save it comma-separated with a decimal point (files separated by semicolons often use decimal commas)"
            )
            shown = "\\t" if likely == "\t" else likely
            raise DataError(
                f"{source}: reads as a single column, but its header is separated by {_DELIMITERS[likely]} ('{shown}'), "
                f"not {_DELIMITERS[sep]}; {todo}"
            )
    repeated = sorted({name for name in header if name.strip() and header.count(name) > 1})
    if repeated:
        raise DataError(f"{source}: column name '{repeated[0]}' appears more than once; rename the duplicates")
    frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig", compression="gzip" if compressed else None)
    # Empty columns without a name are what a spreadsheet's trailing separators leave ("a,b,,"): dropped. (An unnamed
    # column holding values, such as a saved pandas index, stays, as "Unnamed: k"; no parameter names it.)
    empty = [i for i, name in enumerate(header) if not name.strip() and i < frame.shape[1] and frame.iloc[:, i].isna().all()]
    return frame.drop(columns=frame.columns[empty]) if empty else frame


def _read_sas(path: Path, kind: str) -> pd.DataFrame:
    import pyreadstat

    reader = pyreadstat.read_xport if kind == "xport" else pyreadstat.read_sas7bdat
    try:
        frame, _ = reader(str(path))
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as exc:
        raise ValueError(str(exc) or "not a valid SAS file") from None
    for name in frame.columns:
        if frame[name].dtype == object:
            blank = frame[name].map(lambda v: isinstance(v, str) and not v.strip())
            if blank.any():
                frame[name] = frame[name].mask(blank)
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
    if name == "cdiscpilot":
        raise DataError(
            "builtin:cdiscpilot is a set of CDISC ADaM datasets; add data.adam naming its files and the parameter "
            "(e.g. adsl: adsl.xpt, bds: adqscibc.xpt, paramcd: CIBICVAL, population: ITTFL), as in params/cdiscpilot.yaml"
        )
    raise DataError(f"unknown built-in data set 'builtin:{name}'; available: {', '.join('builtin:' + b for b in BUILTINS)}")


# --- checking ------------------------------------------------------------------------------------


def _check_encoded_names(X: pd.DataFrame, encoder: FeatureEncoder) -> None:
    """A one-line error when two encoded columns share a name: a feature named like another feature's level column
    ("smoking=never" beside the categorical smoking), which every later step would confuse."""
    repeated = X.columns[X.columns.duplicated()]
    if len(repeated):
        name = str(repeated[0])
        owner = next((f for f, levels in encoder.categorical.items() if any(f"{f}={lv}" == name for lv in levels)), None)
        of = f"the column of level '{name.split('=', 1)[1]}' of feature '{owner}'" if owner else "another encoded column"
        raise DataError(f"feature '{name}' has the name of {of}; rename the feature (data.labels can give it any display name)")


def _number_with_text(col: pd.Series) -> str | None:
    """An example value when at least 80% of a text column's values are a number with text around it or a decimal
    comma ("43.2 units", "<5", "1,5", "5 mg/dL"); None otherwise (an identifier such as "1234-A" is not one)."""
    text = col.dropna().astype(str).str.strip()
    looks = text.str.fullmatch(r"[<>≤≥~]?\s*[-+]?\d+(?:[.,]\d+)?\s*(?:[A-Za-zµ%°/][A-Za-z0-9µ%°/]*)?")
    return str(text[looks].iloc[0]) if len(text) and looks.mean() >= 0.8 else None


def _is_numeric(col: pd.Series) -> bool:
    return pd.api.types.is_bool_dtype(col) or (
        pd.api.types.is_numeric_dtype(col) and not isinstance(col.dtype, pd.CategoricalDtype)
    )


def _canon(v: Any) -> str:
    """One spelling per label: 1, 1.0 and "1" alike, surrounding spaces ignored (labels from YAML or files)."""
    if isinstance(v, bool | np.bool_):
        return str(bool(v)).lower()
    if isinstance(v, int | float | np.integer | np.floating) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def _match_label(values: pd.Series, label: Any) -> pd.Series:
    """Rows whose value equals `label`, comparing 1, 1.0 and "1" alike (labels from YAML or files)."""
    return values.map(lambda v: _canon(v) if pd.notna(v) else None) == _canon(label)


def _shown(values: pd.Series, limit: int = 6) -> str:
    """The distinct values of a column for a one-line message: sorted, short, without line breaks."""

    def order(text: str) -> tuple[int, float, str]:
        try:
            return (0, float(text), text)
        except ValueError:
            return (1, 0.0, text)

    levels = sorted({_canon(v) for v in values.dropna()}, key=order)
    clean = [re.sub(r"[\x00-\x1f\x7f]+", " ", v) for v in levels[:limit]]
    text = ", ".join(f"'{v[:24]}...'" if len(v) > 27 else f"'{v}'" for v in clean)
    return text + (f" and {len(levels) - limit} more" if len(levels) > limit else "") if levels else "none"


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
        if _holds_dates(col):
            raise DataError(
                f"feature '{name}' holds dates; a date is not a number and can identify a patient: remove it from "
                "data.features, or replace it by a duration (e.g. days from randomization)"
            )
        if _is_numeric(col):
            why = _row_number_like(col)
            if why:
                raise DataError(
                    f"feature '{name}' {why}, as a row number or patient identifier does; remove it from data.features "
                    "(set it as data.id_column if it identifies patients)"
                )
            continue
        text = col.dropna().astype(str).str.strip().head(200)
        if text.empty:
            continue
        for pattern, what in ((_EMAIL, "e-mail addresses"), (_PHONE, "phone numbers")):
            # A plain decimal ("61.2345678", a number column with one stray word) is not a phone number.
            if text.map(lambda v, p=pattern: bool(p.match(v)) and not _DECIMAL.match(v)).mean() > 0.5:
                raise DataError(f"feature '{name}' holds what look like {what}; identifiers cannot be features, remove it")


def _holds_dates(col: pd.Series) -> bool:
    """Date or time values: datetime columns, date objects (pyreadstat, parquet), date strings, YYYYMMDD integers."""
    if pd.api.types.is_datetime64_any_dtype(col) or isinstance(col.dtype, pd.PeriodDtype):
        return True
    values = col.dropna().head(200)
    if values.empty or pd.api.types.is_bool_dtype(col):
        return False
    if _is_numeric(col):
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        if not (numbers.between(1900_01_01, 2100_12_31) & (numbers % 1 == 0)).all():
            return False
        parsed = pd.to_datetime(numbers.astype("int64").astype(str), format="%Y%m%d", errors="coerce")
        return bool(parsed.notna().all())
    if values.map(lambda v: isinstance(v, datetime.date | datetime.time)).mean() > 0.5:
        return True
    return bool(values.astype(str).str.strip().map(lambda v: bool(_DATE.match(v))).mean() > 0.5)


def _row_number_like(col: pd.Series) -> str | None:
    """Why a numeric column looks like a row number or identifier, or None.

    A permutation of 1..n (or 0..n-1) is a row number. Whole numbers that are all different are an
    identifier when they are too densely packed for that to happen by chance: n values spread over a
    range of R integers are all distinct with probability at most exp(-n(n-1)/(2R)) (the birthday
    bound, attained by the uniform distribution); below 0.001 uniqueness is no accident, so genuine
    counts or measurements (ages, CD4 counts) are never refused for it.
    """
    if pd.api.types.is_bool_dtype(col):
        return None
    values = pd.to_numeric(col, errors="coerce").dropna().to_numpy(float)
    n = values.size
    if n < 10 or not np.isfinite(values).all() or (values % 1 != 0).any() or np.unique(values).size != n:
        return None
    low, high = values.min(), values.max()
    if low in (0.0, 1.0) and high == low + n - 1:
        return f"holds the whole numbers {low:.0f} to {high:.0f} once each"
    if n >= 20 and n * (n - 1) / (2 * (high - low + 1)) > -np.log(0.001):
        return "holds a different whole number for every patient"
    return None


OUTCOME_COPY_CORRELATION = 0.999  # |correlation| of a feature with the outcome above which it is refused as a copy


def _screen_outcome_copies(
    frame: pd.DataFrame, names: list[str], spec: DataSpec, outcome: np.ndarray, event: np.ndarray | None
) -> None:
    """Refuse a feature that is (almost) the outcome itself: a copy, a rescaling or a recoding of it (a two-level
    text column is coded 0/1). Such a column is measured after treatment, and an effect model given it explains the
    outcome by itself instead of by the patient. A baseline value of the outcome correlates far less (0.5–0.9)."""
    targets = [(spec.outcome.columns[0], np.asarray(outcome, float))]
    if event is not None and spec.outcome.type == "time_to_event":
        targets.append((spec.outcome.columns[1], np.asarray(event, float)))
    for name in names:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            x = column.to_numpy(dtype=float, na_value=np.nan)
        elif column.nunique(dropna=True) == 2:
            x = (column == column.dropna().iloc[0]).astype(float).where(column.notna()).to_numpy(dtype=float)
        else:
            continue
        for target, y in targets:
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
                continue
            with np.errstate(all="ignore"):  # scaled first: values near 1e307 must not overflow
                r = float(np.corrcoef(x[ok] / np.max(np.abs(x[ok])), y[ok] / np.max(np.abs(y[ok])))[0, 1])
            if np.isfinite(r) and abs(r) >= OUTCOME_COPY_CORRELATION:
                raise DataError(
                    f"feature '{name}' is almost the outcome column '{target}' (correlation {r:+.4f}); features must be "
                    "measured before treatment: remove it from data.features"
                )


def not_numbers(column: pd.Series) -> pd.Series:
    """Rows of new data whose value is present but not a number, in a column the model or a rule reads as numbers."""
    return pd.to_numeric(column, errors="coerce").isna() & column.notna()


def new_rows(df: Any, method: str) -> pd.DataFrame:
    """New patients for `Analysis.effect` or `Subgroup.contains` as a frame: a DataFrame as it is, one patient as a
    Series or a dict of feature values. Anything else (an array has no feature names) is a `ParameterError`, a
    repeated column name a `DataError`."""
    if isinstance(df, pd.DataFrame):
        repeated = df.columns[df.columns.duplicated()]
        if len(repeated):
            raise DataError(f"new data has a column named {repeated[0]!r} more than once; keep one of them")
        return df
    if isinstance(df, pd.Series):
        return df.to_frame().T.infer_objects()
    if isinstance(df, dict):
        return pd.DataFrame([df])
    raise ParameterError(
        f"{method}: new data must be a DataFrame with the feature columns (or one patient as a Series or dict), not {type(df).__name__}"
    )


def _check_features(frame: pd.DataFrame, names: list[str]) -> None:
    for name in names:
        col = frame[name]
        if not name.strip():
            raise DataError(f"a feature column has a blank name ({name!r}); name it in the data file")
        if col.isna().all():
            raise DataError(f"feature '{name}' is missing for every patient; remove it from data.features")
        if pd.api.types.is_timedelta64_dtype(col):
            raise DataError(
                f"feature '{name}' holds time spans (e.g. {str(col.dropna().iloc[0])!r}); convert them to numbers in one unit "
                "(e.g. days) and give the unit in data.labels"
            )
        if _is_numeric(col):
            values = pd.to_numeric(col, errors="coerce").astype(float)
            if np.isinf(values).any():
                raise DataError(f"feature '{name}' has infinite values; replace them or mark them missing")
        elif col.dropna().astype(str).nunique() > MAX_LEVELS:
            text = col.dropna().astype(str).str.strip()
            words = pd.to_numeric(text, errors="coerce").isna()
            if 0 < words.sum() and words.mean() <= 0.2:  # numbers with a few stray words: missing-value codes
                first = int(np.flatnonzero(col.index.isin(text.index[words]))[0]) + 1
                raise DataError(
                    f"feature '{name}' holds numbers and {int(words.sum())} value(s) that are not numbers ({_shown(text[words], 3)}, "
                    f"first at data row {first}); leave missing values empty (or NA), or correct them"
                )
            if (example := _number_with_text(col)) is not None:
                raise DataError(
                    f"feature '{name}' holds numbers written with text (e.g. {example!r}); keep the number alone in the "
                    "column (units and notes belong in the data dictionary, decimals with a point)"
                )
            raise DataError(
                f"feature '{name}' is text with {col.dropna().astype(str).nunique()} different values "
                f"(more than {MAX_LEVELS}); it looks like free text or an identifier: recode or remove it"
            )
        if col.dropna().astype(str).nunique() < 2:
            raise DataError(f"feature '{name}' has the same value for every patient; remove it from data.features")


def _outcome_arrays(frame: pd.DataFrame, spec: DataSpec) -> tuple[np.ndarray, np.ndarray | None]:
    out = spec.outcome
    if out.type == "time_to_event":
        raw_time = frame[out.time]
        time = pd.to_numeric(raw_time, errors="coerce")
        bad = time.isna() & raw_time.notna()
        if bad.any():
            raise DataError(
                f"time column '{out.time}' is not numeric (values such as {_shown(raw_time[bad], 3)}); recode them as numbers"
            )
        if (time <= 0).any():
            raise DataError(f"time column '{out.time}' has zero or negative times; survival times must be > 0")
        raw_event = frame[out.event]
        event_raw = pd.to_numeric(raw_event, errors="coerce")
        values = set(event_raw.dropna().unique())
        if not values <= {0, 1} or (event_raw.isna() & raw_event.notna()).any():
            raise DataError(
                f"event column '{out.event}' must be 0 (censored) or 1 (event); values found: {_shown(raw_event)}; recode it"
            )
        return time.to_numpy(float), event_raw.to_numpy(float)
    raw = frame[out.column]
    if out.type == "binary":
        return _binary_outcome(raw, out.column, out.positive), None
    values = pd.to_numeric(raw, errors="coerce")
    if (values.isna() & raw.notna()).any():
        bad = raw[values.isna() & raw.notna()].astype(str).iloc[0]
        detail = f" (e.g. '{bad}')" if len(bad) < 20 and not bad.replace(".", "").isdigit() and "\n" not in bad else ""
        raise DataError(f"outcome column '{out.column}' is not numeric{detail}; recode it as numbers")
    if np.isinf(values).any():
        raise DataError(f"outcome column '{out.column}' has infinite values")
    return values.to_numpy(float), None


def _binary_outcome(raw: pd.Series, column: str, positive: Any) -> np.ndarray:
    """1 for the outcome counted as positive, 0 for the other value, NaN where missing.

    Numbers 0/1 (or booleans) need nothing more; any other coding, text such as
    "responder"/"non-responder" included, needs ``data.outcome.positive``: which value is 1 is never guessed.
    """
    levels = {_canon(v) for v in raw.dropna()}
    found = f"values found: {_shown(raw)}"
    if len(levels) > 2:
        raise DataError(
            f"binary outcome '{column}' has {len(levels)} different values ({found}); a binary outcome has two: recode it"
        )
    if positive is not None:
        hit = _match_label(raw, positive)
        if not hit.any():
            raise DataError(
                f"data.outcome.positive '{positive}' is not a value of binary outcome '{column}' ({found}); set it to one of them"
            )
        return np.where(raw.isna(), np.nan, hit.to_numpy(float))
    values = pd.to_numeric(raw, errors="coerce")
    if (values.isna() & raw.notna()).any() or not set(values.dropna().unique()) <= {0, 1}:
        raise DataError(
            f"binary outcome '{column}' is not coded 0/1 ({found}); set data.outcome.positive to the value that counts as 1"
        )
    return values.to_numpy(float)


def _check_ids(ids: pd.Series, column: str) -> None:
    """Ids present and unique; "P01" and "P01 " are the same patient (1 and 1.0 too)."""
    key = ids.map(lambda v: _canon(v) if pd.notna(v) else "")
    if (key == "").any():
        raise DataError(f"id column '{column}' has {int((key == '').sum())} missing or blank id(s); every row needs an id")
    repeated = key.duplicated()
    if repeated.any():
        first = np.flatnonzero(key.to_numpy() == key[repeated].iloc[0])[:2] + 1
        spaces = int(repeated.sum()) > int(ids.astype(str).duplicated().sum())
        raise DataError(
            f"id column '{column}' has {int(repeated.sum())} duplicate id(s) (first at data rows {first[0]} and {first[1]})"
            + (", counting ids that differ only by surrounding spaces" if spaces else "")
            + "; ids must be unique: remove repeated rows or correct the ids"
        )


def _check_binary_counts(outcome: np.ndarray, treatment: np.ndarray, spec: DataSpec) -> None:
    """A one-line error when an arm has fewer than `MIN_PER_ARM` patients with, or without, the binary outcome: each
    arm's outcome model is fitted on parts of that arm (cross-fitting, then again inside each half of the subgroup
    search), and a part without a single event (or non-event) has nothing to learn from."""
    labels = spec.treatment
    for arm, which, label in ((1, "treated", labels.treated), (0, "control", labels.control)):
        y = outcome[treatment == arm]
        for value, kind in ((1, "with"), (0, "without")):
            count = int(np.sum(y == value))
            if count < MIN_PER_ARM:
                raise DataError(
                    f"binary outcome '{spec.outcome.name}': only {count} patient(s) {kind} the outcome in the {which} arm "
                    f"('{label}'); at least {MIN_PER_ARM} per arm are needed to model it"
                )


def time_unit_note(spec: DataSpec) -> str | None:
    """The note when a time-to-event outcome's unit is the default rather than declared (every horizon, RMST
    difference and follow-up time in the reports is labelled with it); None otherwise."""
    out = spec.outcome
    if out.type != "time_to_event" or out.time_unit is not None:
        return None
    return (
        f"data.outcome.time_unit is not declared, so the times in '{out.time}' are labelled as {out.unit_of_time}; "
        "declare it (days, weeks, months or years) if they are in another unit"
    )


def _undeclared_time_unit(spec: DataSpec) -> tuple[str, ...]:
    """`time_unit_note`, issued as a `DataWarning`."""
    note = time_unit_note(spec)
    if note is None:
        return ()
    warnings.warn(note, DataWarning, stacklevel=4)
    return (note,)


FAR_IQRS = 10  # an outcome this many interquartile ranges from the median is flagged as a possible entry error


def _far_outcomes(outcome: np.ndarray) -> int:
    """How many continuous outcome values lie more than `FAR_IQRS` interquartile ranges from the median (0 when the
    interquartile range is 0): one such value can move every mean-based estimate (a 1e6 among values near 1 made the
    average effect 5,000). Counted, not removed: the analyst decides."""
    y = np.asarray(outcome, float)
    y = y[np.isfinite(y)]
    q1, median, q3 = np.percentile(y, [25, 50, 75])
    if q3 <= q1:
        return 0
    return int(np.sum(np.abs(y - median) > FAR_IQRS * (q3 - q1)))


def _far_outcome_note(count: int, outcome: np.ndarray, spec: DataSpec) -> str:
    """The warning for the analyst (with the farthest value, which a report never shows), issued as a `DataWarning`."""
    y = np.asarray(outcome, float)
    median = float(np.nanmedian(y))
    farthest = float(y[np.nanargmax(np.abs(y - median))])
    note = (
        f"{count} value(s) of outcome '{spec.outcome.name}' lie more than {FAR_IQRS} interquartile ranges from its median "
        f"{median:.4g} (farthest: {farthest:.4g}); check them for entry or unit errors: each moves every average"
    )
    warnings.warn(note, DataWarning, stacklevel=4)
    return note


def _repeated_rows(frame: pd.DataFrame, id_column: str | None) -> tuple[int, tuple[str, ...]]:
    """(how many rows repeat an earlier row exactly, apart from the id; the warning with counts and row numbers, for
    the analyst): likely double entry."""
    values = frame.drop(columns=[id_column]) if id_column else frame
    repeated = values.duplicated()
    if not repeated.any():
        return 0, ()
    digest = pd.util.hash_pandas_object(values, index=False).to_numpy()
    later = int(np.flatnonzero(repeated.to_numpy())[0])
    earlier = int(np.flatnonzero(digest == digest[later])[0])
    note = (
        f"{int(repeated.sum())} of {len(frame)} rows repeat an earlier row exactly"
        + (" apart from the id" if id_column else "")
        + f" (first: data row {later + 1} repeats row {earlier + 1}); check the file for double entry"
        + ("" if id_column else ", or set data.id_column so that repeated patients are an error")
    )
    warnings.warn(note, DataWarning, stacklevel=4)
    return int(repeated.sum()), (note,)


def load_trial(params: RunParams | DataSpec | dict | str | Path, data: pd.DataFrame | str | Path | None = None) -> TrialData:
    """Read and check a trial as described by the parameters' ``data`` section.

    Parameters
    ----------
    params : RunParams, DataSpec, dict or path to YAML
    data : DataFrame or path, optional
        Overrides ``data.source``.
    """
    base_dir = None
    if data is not None and not isinstance(data, (pd.DataFrame, str, Path)):
        raise ParameterError(f"data must be a DataFrame, a path to a data file or None (data.source), not {type(data).__name__}")
    if isinstance(params, DataSpec):
        spec = params
    else:
        run = params if isinstance(params, RunParams) else load_params(params)
        spec, base_dir = run.data, run.base_dir
    if isinstance(data, pd.DataFrame):
        frame, fingerprint, source = data.copy(), frame_fingerprint(data), "data frame"
    elif data is None and spec.adam is not None:
        from subgroups.adam import read_adam

        table = read_adam(spec, base_dir)
        if table.time_unit is not None and spec.outcome.time_unit is None:  # AVALU declares it
            spec = spec.model_copy(update={"outcome": spec.outcome.model_copy(update={"time_unit": table.time_unit})})
        return prepare_trial(
            table.frame, spec, table.fingerprint, table.source, variable_labels=table.labels, variable_units=table.units
        )
    else:
        if data is not None:
            spec = spec.model_copy(update={"source": str(data)})
        frame, fingerprint, source = read_source(spec, base_dir)
    return prepare_trial(frame, spec, fingerprint, source)


def _check_columns(frame: pd.DataFrame, spec: DataSpec, source: str) -> None:
    """Unique column names; labels, the treatment and outcome columns and the id column present; ids valid."""
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise DataError(f"{source}: column name '{dup}' appears more than once; rename the duplicates")
    columns = [str(c) for c in frame.columns]
    unknown = [name for name in spec.labels if name not in columns]
    if unknown:
        raise DataError(
            f"data.labels: {', '.join(repr(n) for n in unknown)} {'is not a column' if len(unknown) == 1 else 'are not columns'} "
            f"of {source}; label only columns of the data (check the spelling, or remove the entry)"
        )
    for role, name in (("treatment", spec.treatment.column), *((f"outcome {c}", c) for c in spec.outcome.columns)):
        if name not in columns:
            close = [c for c in columns if c.lower() == name.lower()]
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise DataError(f"{source}: {role} column '{name}' not found{hint}")
    if spec.id_column:
        if spec.id_column not in columns:
            raise DataError(f"{source}: id column '{spec.id_column}' not found")
        _check_ids(frame.iloc[:, columns.index(spec.id_column)], spec.id_column)


def _two_arms(frame: pd.DataFrame, spec: DataSpec) -> tuple[pd.DataFrame, np.ndarray, dict[str, int]]:
    """The patients of the two declared arms (explicit labels only), their 0/1 treatment, and the others counted."""
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
    declared = {
        _canon(label).casefold(): (which, _canon(label))
        for which, label in (("treated", spec.treatment.treated), ("control", spec.treatment.control))
    }
    for value in sorted({_canon(v) for v in arm[~keep]}):
        if value.casefold() in declared:  # "Drug" next to "drug": a typo, not a third arm to leave out
            which, label = declared[value.casefold()]
            raise DataError(
                f"treatment column '{spec.treatment.column}' has {int((arm[~keep].map(_canon) == value).sum())} patient(s) "
                f"labelled '{value}', which differs from the {which} label '{label}' only in case; "
                "fix the data (other labels are left out of the analysis as other arms)"
            )
    dropped = {"other arms": int((~keep).sum())} if (~keep).any() else {}
    frame = frame.loc[keep].reset_index(drop=True)
    return frame, _match_label(frame[spec.treatment.column], spec.treatment.treated).to_numpy().astype(int), dropped


def _drop_incomplete(
    frame: pd.DataFrame, treatment: np.ndarray, names: list[str], spec: DataSpec, dropped: dict[str, int]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Patients without an outcome (never imputed) and, with data.missing = drop, without every feature, removed
    and counted in `dropped`; data.missing = error refuses missing features."""
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
    return frame, treatment


def prepare_trial(
    frame: pd.DataFrame,
    spec: DataSpec,
    fingerprint: str,
    source: str,
    variable_labels: dict[str, str] | None = None,
    variable_units: dict[str, str] | None = None,
) -> TrialData:
    """Check a raw table against the data spec and build a `TrialData` (one-line errors); `variable_labels`: column ->
    label, `variable_units`: column -> unit, both from the file's metadata."""
    _check_columns(frame, spec, source)
    frame.columns = [str(c) for c in frame.columns]
    n_read = len(frame)
    repeated_rows, notes = _repeated_rows(frame, spec.id_column)
    notes += _undeclared_time_unit(spec)
    frame, treatment, dropped = _two_arms(frame, spec)

    reserved = _reserved_columns(spec)
    available = [c for c in frame.columns if c not in reserved]
    family_of = _assign_families(spec, available)
    names = list(family_of)
    if not names:
        raise DataError(f"{source}: no feature columns; list features under data.features")
    _screen_identifiers(frame, names, spec)

    frame, treatment = _drop_incomplete(frame, treatment, names, spec, dropped)
    for which, count in (("treated", int(treatment.sum())), ("control", int((1 - treatment).sum()))):
        if count < MIN_PER_ARM:
            raise DataError(
                f"only {count} patient(s) in the {which} arm after cleaning; at least {MIN_PER_ARM} per arm are needed"
            )
    _check_features(frame, names)

    outcome, event = _outcome_arrays(frame, spec)
    if spec.outcome.type != "time_to_event" and np.nanmax(outcome) == np.nanmin(outcome):  # no squares: 1e307 must not overflow
        raise DataError(f"outcome '{spec.outcome.name}' has the same value for every patient; nothing to analyse")

    if spec.outcome.type == "binary":
        _check_binary_counts(outcome, treatment, spec)
    _screen_outcome_copies(frame, names, spec, outcome, event)
    far_outcomes = _far_outcomes(outcome) if spec.outcome.type == "continuous" else 0

    features = frame[names].copy()
    for name in names:  # True/False features (numpy or pandas' nullable boolean) as 0/1, missing as NaN
        if pd.api.types.is_bool_dtype(features[name]):
            features[name] = features[name].astype("float64")
    encoder = FeatureEncoder.fit(features)
    X = encoder.transform(features)
    _check_encoded_names(X, encoder)
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
        notes=notes + ((_far_outcome_note(far_outcomes, outcome, spec),) if far_outcomes else ()),
        repeated_rows=repeated_rows,
        far_outcomes=far_outcomes,
        file_units=dict(variable_units or {}),
        labels={
            name: text
            for name, text in {**(variable_labels or {}), **{k: v.label for k, v in spec.labels.items()}}.items()
            if name in names or name in spec.outcome.columns
        },
    )
