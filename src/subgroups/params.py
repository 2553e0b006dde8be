"""The parameter schema of one analysis: YAML in, a validated, frozen `RunParams` out.

Every key is declared here; an unknown key is an error that names the closest valid key, so a
typo can never be silently ignored. YAML is read with YAML 1.2 rules for booleans and floats
(``no`` stays the text "no", ``1e-3`` is a number), which avoids the two classic YAML 1.1 traps.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from subgroups.design.settings import TrialDesignParams  # the design's settings a YAML file may set
from subgroups.errors import ParameterError

FAMILIES = ("genetic", "lifestyle", "disease", "other")
Label = str | int | float | bool
MAX_SEED = 2**32 - 1  # scikit-learn and numpy legacy seeds are 32-bit


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArmNames(_Strict):
    """How the reports name the two arms (e.g. treated: "ZDV + ddI"); unset: the arm's value in the data."""

    treated: str | None = Field(default=None, min_length=1)
    control: str | None = Field(default=None, min_length=1)


class VariableLabel(_Strict):
    """One entry of the variable dictionary (`data.labels`): what a column means, and its unit."""

    label: str = Field(min_length=1)
    unit: str | None = Field(default=None, min_length=1)


class TreatmentSpec(_Strict):
    """Which column holds the arm, and which two labels are compared (never guessed)."""

    column: str
    treated: Label
    control: Label
    labels: ArmNames = Field(default_factory=ArmNames)  # display names of the arms in the reports
    # Declared randomization ratio treated:control ("2:1" or [2, 1]); unset: data.randomization_probability, else 1:1.
    allocation: str | None = None
    strict: bool = False  # study: rct: a failed randomization check (subgroups.audit) stops the run instead of warning

    @field_validator("allocation", mode="before")
    @classmethod
    def _ratio(cls, value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or isinstance(value, int | float):
            raise ValueError(
                f"write the ratio in quotes, e.g. '2:1', or as [2, 1] (YAML reads an unquoted ratio as a number, here {value!r})"
            )
        parts = value if isinstance(value, list | tuple) else str(value).split(":")
        try:
            numbers = [float(part) for part in parts]
        except (TypeError, ValueError):
            numbers = []
        if len(numbers) != 2 or not all(0 < x < float("inf") for x in numbers):
            raise ValueError(f"must be two positive numbers treated:control, e.g. '2:1' or [2, 1] (got {value!r})")
        return ":".join(f"{x:g}" for x in numbers)

    @property
    def treated_share(self) -> float | None:
        """The share of patients randomized to treatment that `allocation` declares (None when unset)."""
        if self.allocation is None:
            return None
        treated, control = (float(x) for x in self.allocation.split(":"))
        return treated / (treated + control)

    @model_validator(mode="after")
    def _distinct(self) -> TreatmentSpec:
        if str(self.treated) == str(self.control):
            raise ValueError(f"treated and control are both {self.treated!r}; name two different arms")
        return self


class OutcomeSpec(_Strict):
    """The outcome: one column (continuous, binary) or time + event columns (time-to-event)."""

    type: Literal["continuous", "binary", "time_to_event"]
    column: str | None = None
    time: str | None = None
    event: str | None = None
    horizon: float | None = Field(default=None, gt=0)  # time-to-event: RMST horizon or survival landmark
    estimand: Literal["rmst", "survival"] = "rmst"  # time-to-event: RMST difference or survival difference at `horizon`
    # Unit of `time`: labels time-scale numbers. None: not declared, read as days (`unit_of_time`) and the reports say
    # so; kept None (not filled in) in a run's params.yaml, so the run's pages know it was not declared.
    time_unit: Literal["days", "weeks", "months", "years"] | None = None
    higher_is_better: bool = True
    label: str | None = None
    positive: Label | None = None  # binary: the value counted as 1 (needed when the outcome is coded as text)

    @property
    def unit_of_time(self) -> str:
        """`time_unit`, or "days" when it was not declared."""
        return self.time_unit or "days"

    @model_validator(mode="after")
    def _columns(self) -> OutcomeSpec:
        if self.type == "time_to_event":
            if not (self.time and self.event):
                raise ValueError("a time_to_event outcome needs 'time' and 'event' columns")
            if not self.higher_is_better:
                # An event that is good (recovery, discharge) would reverse the benefit of the hazard-scale tests and
                # designs, which take fewer events as the benefit: refused rather than analysed the wrong way round.
                raise ValueError(
                    "higher_is_better: false is not supported for a time_to_event outcome (an event that is good, "
                    "such as recovery): the hazard-scale tests and the next-trial designs take fewer events as the "
                    "benefit; analyse the time to an adverse event, or the outcome at a fixed time as binary"
                )
        elif not self.column:
            raise ValueError(f"a {self.type} outcome needs 'column'")
        if self.positive is not None and self.type != "binary":
            raise ValueError(f"'positive' applies to binary outcomes only; remove it from this {self.type} outcome")
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.time, self.event) if self.type == "time_to_event" else (self.column,)

    @property
    def name(self) -> str:
        return self.label or (self.column if self.type != "time_to_event" else f"{self.time}/{self.event}")


class SimulationSpec(_Strict):
    """Settings of the built-in simulated trial (`builtin:synthetic`): the scenarios of `subgroups.datasets.synthetic`."""

    scenario: Literal["PM-NULL-a", "PM-NULL-b", "PM-SNP", "PM-LIFESEV", "PM-TTE"] = "PM-SNP"
    n: int = Field(default=2000, ge=40, le=2_000_000)
    seed: int = Field(default=2026, ge=0, le=MAX_SEED)
    b1_rel: float = 2.0
    level: Literal["L0", "L1", "L2"] = "L2"


_SAS_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,31}$"
ADAM_TIME, ADAM_EVENT, ADAM_ID = "AVAL", "EVENT", "USUBJID"  # the columns `subgroups.adam` builds from ADSL + BDS


class AdamSpec(_Strict):
    """CDISC ADaM input: ADSL (one row per subject) merged by USUBJID with one parameter of a BDS dataset.

    The outcome is the BDS ``AVAL`` (the time, for a time-to-event parameter, whose event indicator
    EVENT is derived from ``CNSR``: CNSR = 0 is an event, CNSR >= 1 censored). With ``data.source:
    builtin:cdiscpilot`` the two paths are file names inside the built-in CDISC pilot study.
    """

    adsl: str = Field(min_length=1)  # subject-level dataset (.xpt SAS transport, or .sas7bdat)
    bds: str = Field(min_length=1)  # basic data structure dataset holding the outcome parameter (e.g. adtte.xpt)
    paramcd: str = Field(min_length=1, max_length=8)  # the BDS parameter analysed (PARAMCD), e.g. TTDE
    population: str = Field(pattern=_SAS_NAME)  # ADSL population flag kept where = "Y", e.g. ITTFL
    visit: str | None = Field(default=None, min_length=1)  # BDS analysis visit (AVISIT), e.g. "Week 24"
    record_flag: str | None = Field(default=None, pattern=_SAS_NAME)  # BDS record flag kept where = "Y", e.g. ANL01FL
    treatment: str = Field(default="TRT01P", pattern=_SAS_NAME)  # arm variable, from ADSL (TRT01P) or else the BDS (TRTP)


def _adam_defaults(tree: dict[str, Any]) -> dict[str, Any]:
    """With data.adam, the arm, outcome and id columns are those the ADaM loader builds; fill them in, refuse others."""
    adam = tree["adam"]
    arm = adam.treatment if isinstance(adam, AdamSpec) else (adam.get("treatment") if isinstance(adam, Mapping) else None)
    arm = arm or "TRT01P"
    tree = dict(tree)
    treatment = tree.get("treatment")
    if isinstance(treatment, Mapping):
        given = treatment.get("column")
        if given is not None and given != arm:
            raise ValueError(
                f"treatment.column '{given}' differs from adam.treatment '{arm}'; name the arm variable once, in adam.treatment"
            )
        tree["treatment"] = {**treatment, "column": arm}
    outcome = tree.get("outcome")
    if isinstance(outcome, Mapping):
        expected = {"time": ADAM_TIME, "event": ADAM_EVENT} if outcome.get("type") == "time_to_event" else {"column": ADAM_TIME}
        for key, name in expected.items():
            given = outcome.get(key)
            if given == "CNSR":
                raise ValueError(
                    f"outcome.{key} is CNSR, ADaM's censoring flag (CNSR = 0 is the event); leave outcome.{key} unset: "
                    f"with data.adam the event indicator {ADAM_EVENT} is derived from CNSR"
                )
            if given is not None and given != name:
                raise ValueError(
                    f"outcome.{key} '{given}' is not used with data.adam: the outcome is the BDS parameter's AVAL; "
                    f"leave outcome.{key} unset (or write {name})"
                )
        tree["outcome"] = {**outcome, **expected}
    if tree.get("id_column") is None:
        tree["id_column"] = ADAM_ID
    return tree


class DataSpec(_Strict):
    """Where the data come from and what each column means."""

    source: str | None = None
    adam: AdamSpec | None = None  # CDISC ADaM datasets instead of one table (see `AdamSpec`)
    treatment: TreatmentSpec
    outcome: OutcomeSpec
    features: dict[Literal["genetic", "lifestyle", "disease", "other"], list[str]] = Field(default_factory=dict)
    id_column: str | None = None
    study: Literal["rct", "observational"] = "rct"
    randomization_probability: float | None = Field(default=None, gt=0, lt=1)
    missing: Literal["impute", "drop", "error"] = "impute"
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    # Variable dictionary: column -> {label, unit} (a plain string is the label), shown in every table and figure;
    # columns that are not in the data are an error (`subgroups.data`); these win over labels read from the files.
    labels: dict[str, VariableLabel] = Field(default_factory=dict)

    @field_validator("labels", mode="before")
    @classmethod
    def _label_text(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): {"label": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("features")
    @classmethod
    def _nonempty(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for family, names in value.items():
            if isinstance(names, str):
                raise ValueError(f"features.{family} must be a list of names or patterns, not one string")
        return value

    @model_validator(mode="before")
    @classmethod
    def _adam_columns(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and value.get("adam") is not None:
            return _adam_defaults(dict(value))
        return value

    @model_validator(mode="after")
    def _adam_source(self) -> DataSpec:
        if self.adam is None:
            return self
        if self.source is not None and self.source != "builtin:cdiscpilot":
            raise ValueError(
                f"source '{self.source}' and adam are both given; with data.adam the files are adam.adsl and adam.bds "
                "(remove source, or set it to builtin:cdiscpilot for the built-in CDISC pilot study)"
            )
        if not any(self.features.values()):
            raise ValueError(
                "data.adam needs data.features: ADSL also holds post-randomization variables (e.g. TRTDUR, DISCONFL), "
                "so list the baseline variables to analyse"
            )
        return self


class EstimationParams(_Strict):
    """How effects are estimated. One integer seed reaches every model."""

    learner: Literal["auto", "t_learner", "x_learner", "dr_learner", "causal_forest", "cox_t_learner"] = "auto"
    folds: int = Field(default=5, ge=2, le=20)
    seed: int = Field(default=7, ge=0, le=MAX_SEED)
    n_estimators: int = Field(default=400, ge=8, le=10_000)
    min_samples_leaf: int = Field(default=10, ge=1)
    nuisance_iterations: int = Field(default=100, ge=10, le=5000)
    shap_rows: int = Field(default=300, ge=20, le=100_000)
    trim: float = Field(default=0.05, ge=0, lt=0.5)  # observational only: drop propensities outside [trim, 1 - trim]
    level: float = Field(default=0.95, gt=0.5, lt=1)

    @field_validator("n_estimators")
    @classmethod
    def _multiple_of_four(cls, value: int) -> int:
        # econml's causal forest grows trees in sub-forests of 4 for its variance estimate.
        if value % 4:
            raise ValueError(f"must be a multiple of 4 (econml grows trees in groups of 4), e.g. {value + 4 - value % 4}")
        return value


class HeterogeneityParams(_Strict):
    """The heterogeneity test: its level (one-sided) decides whether subgroups may be called validated.

    `candidates`: effect modifiers named before the data were seen (protocol, biology, a GWAS): a
    feature (`snp_01`: does the effect change with it?) or a rule (`snp_01 >= 1`: do these patients
    benefit more?). They share `candidate_share` of alpha, the agnostic test the rest (weighted Holm).
    In a randomized time-to-event trial they are tested on the hazard scale (Cox interaction with treatment).
    """

    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    candidates: list[str] = Field(default_factory=list)
    candidate_share: float = Field(default=0.8, gt=0, lt=1)


class SubgroupParams(_Strict):
    """Subgroup discovery (shallow rules) and pre-specified subgroups such as 'age >= 65'."""

    max_depth: int = Field(default=2, ge=1, le=4)
    min_size: int = Field(default=50, ge=1)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    prespecified: list[str] = Field(default_factory=list)


MIN_CELL_FLOOR = 5


class ReportParams(_Strict):
    # Smallest count a report shows. At least 5, the usual floor of statistical disclosure control (Hundepool et
    # al. 2012): below it a cell, a histogram bin or a subgroup could describe one or two patients.
    min_cell: int = Field(default=10, le=1000)
    title: str | None = None

    @field_validator("title")
    @classmethod
    def _blank_is_no_title(cls, value: str | None) -> str | None:
        # A blank title would head every page with nothing; without one the pages use the run's name.
        return " ".join(value.split()) or None if value is not None else None

    @field_validator("min_cell")
    @classmethod
    def _not_below_the_floor(cls, value: int) -> int:
        if value < MIN_CELL_FLOOR:
            raise ValueError(
                f"must be at least {MIN_CELL_FLOOR}: reports show no count, histogram bin or subgroup below it, so that no "
                "cell describes one or two patients"
            )
        return value


class RunParams(_Strict):
    """One analysis, as written in one YAML file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)
    data: DataSpec
    estimation: EstimationParams = Field(default_factory=EstimationParams)
    heterogeneity: HeterogeneityParams = Field(default_factory=HeterogeneityParams)
    subgroups: SubgroupParams = Field(default_factory=SubgroupParams)
    trial_design: TrialDesignParams = Field(default_factory=TrialDesignParams)
    report: ReportParams = Field(default_factory=ReportParams)
    base_dir: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _min_size_covers_min_cell(self) -> RunParams:
        # A rule may not be smaller than what the reports may show (subgroups.privacy).
        if self.subgroups.min_size < self.report.min_cell:
            raise ValueError(
                f"subgroups.min_size ({self.subgroups.min_size}) is below report.min_cell ({self.report.min_cell}); "
                "set subgroups.min_size to at least report.min_cell"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The parameters as plain JSON-ready values (defaults filled in)."""
        return self.model_dump(mode="json", exclude={"base_dir"})


# --- YAML with YAML 1.2 booleans and floats ----------------------------------------------------


# A parameter file holds a few hundred values; aliases (*name) may not expand it past this many.
# Without a bound, a few hundred bytes of nested aliases ("billion laughs") expand to billions of
# values when the tree is copied and validated.
MAX_YAML_VALUES = 100_000


class _Refused(yaml.MarkedYAMLError):
    """YAML that parses but is refused: a duplicate key, or aliases that expand too far."""


class _Loader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans and 1e-3 is a float (YAML 1.2 core schema),
    a duplicate key is an error, and aliases may expand to at most `MAX_YAML_VALUES` values."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expansion(node)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        # Checked before merge keys (<<) are flattened: a key given next to a merge overrides it on purpose.
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node)
                if key in first_line:
                    raise _Refused(
                        problem=f"duplicate key {key!r} (first given on line {first_line[key]}); keep only one",
                        problem_mark=key_node.start_mark,
                    )
                first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose values, with every alias expanded, exceed `MAX_YAML_VALUES`, or
    that contains itself through an alias. Sizes are memoized per node, so this costs one visit
    of each distinct node, however far the aliases would expand."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise _Refused(
                problem="an alias refers to a value that contains it; write the values out", problem_mark=node.start_mark
            )
        open_nodes.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_YAML_VALUES:
                raise _Refused(
                    problem=f"aliases (*name) expand this file to more than {MAX_YAML_VALUES:,} values; write the values out",
                    problem_mark=child.start_mark,
                )
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root)


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:float")]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str, where: str = "parameters") -> Any:
    """Parse YAML text with YAML 1.2 booleans and floats; a syntax error, a duplicate key or an
    alias bomb is one line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except _Refused as exc:
        line = f" line {exc.problem_mark.line + 1}" if exc.problem_mark is not None else ""
        raise ParameterError(f"{where}{line}: {exc.problem}") from None
    except RecursionError:
        raise ParameterError(f"{where}: values are nested too deeply for a parameter file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ParameterError(f"{where}{line}: not valid YAML ({problem})") from None


# --- loading and overrides ---------------------------------------------------------------------


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def parse_overrides(overrides: Mapping[str, Any] | Iterable[str] | None) -> dict[str, Any]:
    """Turn ``["estimation.seed=3"]`` or ``{"estimation.seed": 3}`` into a {dotted key: value} dict."""
    if not overrides:
        return {}
    if isinstance(overrides, Mapping):
        return dict(overrides)
    parsed: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = str(item).partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"override {item!r} must look like section.key=value, e.g. estimation.seed=3")
        parsed[key.strip()] = parse_yaml(raw, where=f"override {key.strip()}") if raw.strip() else None
    return parsed


def _field_names(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """Valid keys at `path` (the parent of the offending key) in the schema."""
    current: Any = model
    for part in path:
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return []
        annotation = fields[part].annotation
        current = _model_in(annotation)
        if current is None:
            return []
    return [name for name in getattr(current, "model_fields", {}) if name != "base_dir"]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    where = ".".join(str(part) for part in loc) or "parameters"
    if error.get("type") == "extra_forbidden":
        valid = _field_names(RunParams, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.5)
        hint = f"; did you mean '{'.'.join(map(str, (*loc[:-1], close[0])))}'?" if close else ""
        return f"unknown key '{where}'{hint} (valid here: {', '.join(valid)})"
    if error.get("type") == "missing":
        return f"missing required key '{where}'"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    value = error.get("input")
    shown = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
    return f"'{where}': {message}{shown}" if loc else f"{message}{shown}"  # loc (): a check across sections names its keys


def validate_params(tree: Mapping[str, Any], where: str = "parameters", base_dir: str | None = None) -> RunParams:
    """Validate a parameter tree; the first problem becomes a one-line `ParameterError`."""
    if not isinstance(tree, Mapping):
        raise ParameterError(f"{where}: expected a mapping of sections (name, data, estimation, ...)")
    try:
        return RunParams.model_validate({**tree, "base_dir": base_dir})
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ParameterError(f"{where}: {_describe(errors[0])}{more}") from None


def load_params(
    source: str | Path | Mapping[str, Any] | RunParams,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    allow_sweep: bool = False,
) -> RunParams:
    """Read and validate parameters from a YAML path, a dict or a `RunParams`, then apply overrides.

    Overrides use dotted keys: ``load_params("params/demo.yaml", {"estimation.seed": 3})`` or
    ``["estimation.seed=3"]`` as on the command line. Relative data paths in a YAML file are read
    relative to the folder of that file. A file's ``sweep`` section (several runs) is accepted only
    with ``allow_sweep`` (the batch runner expands it) and is otherwise an error.
    """
    if isinstance(source, RunParams):
        tree, where, base_dir = source.to_dict(), "parameters", source.base_dir
    elif isinstance(source, Mapping):
        tree, where, base_dir = dict(source), "parameters", None
    else:
        if not isinstance(source, (str, Path)):
            raise ParameterError(f"parameters must be a path to a YAML file, a dict or a RunParams, not {type(source).__name__}")
        path = Path(source)
        if path.suffix.lower() not in (".yaml", ".yml"):
            raise ParameterError(f"{path}: parameter files must be .yaml or .yml")
        if not path.is_file():
            raise ParameterError(f"{path}: parameter file not found")
        tree = parse_yaml(path.read_text(encoding="utf-8"), where=str(path))
        where, base_dir = str(path), str(path.resolve().parent)
        if tree is None:
            raise ParameterError(f"{path}: the parameter file is empty")
        if not isinstance(tree, dict):
            raise ParameterError(f"{path}: expected a mapping of sections (name, data, estimation, ...)")
        if "sweep" in tree:
            if not allow_sweep:
                raise ParameterError(f"{path}: this file declares a sweep of several runs; run it with 'subgroups batch {path}'")
            tree = {key: value for key, value in tree.items() if key != "sweep"}
    tree = _deep_copy(tree)
    for dotted, value in parse_overrides(overrides).items():
        _set_dotted(tree, dotted, value)
    return validate_params(tree, where=where, base_dir=base_dir)


def _deep_copy(tree: Any) -> Any:
    if isinstance(tree, Mapping):
        return {key: _deep_copy(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [_deep_copy(value) for value in tree]
    return tree
