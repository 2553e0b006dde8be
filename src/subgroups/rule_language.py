"""The rule language: conditions on original features, their text, membership and parsing.

A rule is a tuple of `Condition`s joined by "and": numeric cut-points (≤, >), category sets, or
missingness, written in the features' original units and levels, so that what a report prints is
what selects its patients. Pre-specified rules are read from text (`parse_rule`); discovered cut-points
are rounded for reading before they are estimated (`round_threshold`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from subgroups.errors import DataError, ParameterError

if TYPE_CHECKING:
    from subgroups.data import TrialData

NUMERIC_OPS = {
    "le": ("≤", np.less_equal),
    "lt": ("<", np.less),
    "gt": (">", np.greater),
    "ge": ("≥", np.greater_equal),
    "eq": ("=", np.equal),
    "ne": ("≠", np.not_equal),
}


_PARSE_OPS = {"<=": "le", "≤": "le", "<": "lt", ">=": "ge", "≥": "ge", ">": "gt", "==": "eq", "=": "eq", "!=": "ne", "≠": "ne"}


_NAME = re.compile(r"[A-Za-z_][\w.]*")  # a feature name the rule language reads bare; any other is written `in backticks`
_EXPRESSION = re.compile(rf"^\s*(`[^`]+`|{_NAME.pattern})\s*(<=|>=|==|!=|≤|≥|≠|<|>|=|not in|in)\s*(.+?)\s*$")


def feature_text(name: str) -> str:
    """A feature's name as rules write it: bare when the rule language reads it so, else in backticks
    ("`BMI (kg/m2)`", "`a and b`"), so that a rule reads unambiguously and can be pre-specified as printed."""
    return name if _NAME.fullmatch(name) else f"`{name}`"


@dataclass(frozen=True)
class Condition:
    """One clause of a rule, on an original feature: numeric (<=, >), category set, or missingness."""

    feature: str
    kind: str  # "le", "gt", "in", "missing", "recorded"
    value: Any = None  # threshold (numeric) or tuple of levels (categorical)
    integer: bool = False
    genetic: bool = False

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        col = frame[self.feature]
        if self.kind in ("missing", "recorded"):
            isna = col.isna().to_numpy()
            return isna if self.kind == "missing" else ~isna
        if self.kind == "in":
            return col.astype("string").fillna("(missing)").isin(list(self.value)).to_numpy()
        if self.kind == "not_in":
            return ~col.astype("string").fillna("(missing)").isin(list(self.value)).to_numpy()
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            return NUMERIC_OPS[self.kind][1](values, float(self.value))

    @property
    def text(self) -> str:
        name = feature_text(self.feature)
        if self.kind == "missing":
            return f"{name} missing"
        if self.kind == "recorded":
            return f"{name} recorded"
        if self.kind in ("in", "not_in"):
            levels = sorted(self.value)
            if self.kind == "not_in":
                return f"{name} not in {{{', '.join(levels)}}}"
            return f"{name} = {levels[0]}" if len(levels) == 1 else f"{name} in {{{', '.join(levels)}}}"
        if self.kind not in ("le", "gt"):
            return f"{name} {NUMERIC_OPS[self.kind][0]} {self.value:g}"
        if self.integer:
            if self.kind == "gt":
                bound = int(np.floor(self.value)) + 1
                label = " (carrier)" if self.genetic and bound == 1 else " (homozygous)" if self.genetic and bound == 2 else ""
                return f"{name} ≥ {bound}{label}"
            bound = int(np.floor(self.value))
            label = " (non-carrier)" if self.genetic and bound == 0 else ""
            return f"{name} = 0{label}" if bound == 0 and self.genetic else f"{name} ≤ {bound}"
        return f"{name} {'≤' if self.kind == 'le' else '>'} {self.value:.4g}"


def members(conditions: tuple[Condition, ...], frame: pd.DataFrame) -> np.ndarray:
    """Rows of `frame` (original feature columns) that meet every condition."""
    inside = np.ones(len(frame), dtype=bool)
    for condition in conditions:
        inside &= condition.mask(frame)
    return inside


#: A rounded threshold may move at most this share of patients across the tree's own cut-point.
ROUNDING_TOLERANCE = 0.05


def round_threshold(threshold: float, column: pd.Series) -> float:
    """The tree's cut-point rounded to 2 significant digits (32.63 -> 33, 7.144 -> 7.1), or to more
    digits when 2 would move more than `ROUNDING_TOLERANCE` of the patients to the other side (a year
    2015.5 stays 2016, never 2000).

    The rule is rounded before its effect is estimated, so the printed rule is the estimated rule;
    only the features (never outcomes) decide the rounding.
    """
    values = pd.to_numeric(column, errors="coerce").dropna().to_numpy(dtype=float)
    if not np.isfinite(threshold) or threshold == 0 or values.size == 0:
        return threshold
    below = values <= threshold
    for digits in range(2, 16):
        rounded = float(f"{threshold:.{digits}g}")
        if np.mean((values <= rounded) != below) <= ROUNDING_TOLERANCE:
            return rounded
    return threshold


def column_text(column: str, feature: str) -> str:
    """An encoded column as the rule language writes it: a level indicator "grp=non" as "grp = non", a missing
    indicator "bmi (missing)" as "bmi missing", a feature as its name; a carrier indicator ("snp_01 ≥ 1 (carrier)")
    already reads as a rule."""
    name = feature_text(feature)
    if column == feature:
        return name
    if column == f"{feature} (missing)":
        return f"{name} missing"
    if column.startswith(f"{feature}="):
        return f"{name} = {column[len(feature) + 1 :]}"
    return column


def rule_text(conditions: tuple[Condition, ...]) -> str:
    return " and ".join(c.text for c in conditions)


def parse_rule(expression: str, data: TrialData, key: str = "subgroups.prespecified") -> tuple[Condition, ...]:
    """A pre-specified rule such as ``age >= 65 and smoking in [never, former]`` (``&`` also joins conditions); a
    feature whose name is not a plain word is written in backticks (```BMI (kg/m2)` > 30``), as reports print it.
    `key` names the parameter the rule came from in error messages."""
    quoted = re.findall(r"`[^`]*`", expression)  # kept whole: a name in backticks may hold " and " or "&"
    masked = re.sub(r"`[^`]*`", lambda m: f"\x00{quoted.index(m.group(0))}\x00", expression)
    parts = re.split(r"\s+and\s+|\s*&\s*", masked)
    return tuple(
        parse_condition(re.sub("\x00(\\d+)\x00", lambda m: quoted[int(m.group(1))], part), data, key, expression)
        for part in parts
    )


def parse_condition(expression: str, data: TrialData, key: str = "subgroups.prespecified", rule: str | None = None) -> Condition:
    """A pre-specified condition such as ``age >= 65``, ``female == 1`` or ``smoking in [never, former]``: a
    categorical feature's levels must be levels it has (a misspelt level would silently select nobody), a number
    must be finite."""
    where = f"{key}: {expression!r}" if rule is None or rule == expression else f"{key}: {rule!r}, condition {expression!r}"
    match = _EXPRESSION.match(expression)
    if not match:
        raise ParameterError(f"{key}: cannot read {expression!r}; write e.g. 'age >= 65' or 'smoking in [never, former]'")
    feature, op, raw = match.groups()
    feature = feature[1:-1] if feature.startswith("`") else feature
    if feature not in data.features.columns:
        raise DataError(f"{where} names '{feature}', which is not an analysed feature")
    if feature in data.encoder.categorical:
        if op in ("in", "not in"):
            levels = tuple(part.strip().strip("'\"") for part in raw.strip("[](){}").split(",") if part.strip())
        elif op in ("==", "=", "!=", "≠"):
            levels = (raw.strip().strip("'\""),)
        else:
            raise ParameterError(f"{where}: '{feature}' is categorical; use ==, != or in [...]")
        known = data.encoder.categorical[feature]
        unknown = [level for level in levels if level not in known]
        if not levels or unknown:
            what = "lists no level" if not levels else f"'{unknown[0]}' is not a level of '{feature}'"
            raise ParameterError(f"{where}: {what} (its levels: {', '.join(known)})")
        return Condition(feature, "not_in" if op in ("not in", "!=", "≠") else "in", levels)
    if op in ("in", "not in"):
        raise ParameterError(f"{where}: '{feature}' is numeric; compare it with <, <=, >, >=, == or !=")
    value = re.sub(r"\s*\((?:non-carrier|carrier|homozygous)\)$", "", raw.strip()).strip("'\"")  # as rules print genotypes
    try:
        number = float(value)
    except ValueError:
        raise ParameterError(f"{where}: '{value}' is not a number") from None
    if not np.isfinite(number):
        raise ParameterError(f"{where}: '{value}' is not a finite number")
    return _whole_number_form(Condition(feature, _PARSE_OPS[op], number), data)


def _whole_number_form(condition: Condition, data: TrialData) -> Condition:
    """A cut-point at a whole number on a genotype (a genetic feature holding 0, 1, 2), written as the search writes
    its own rules (≤ / > half-way between values), so that "snp_01 >= 1" reads "snp_01 ≥ 1 (carrier)" in every
    table, as a discovered rule on it does; the patients selected are the same. Any other condition keeps the
    protocol's wording ("cd40 < 300")."""
    values = pd.to_numeric(data.features[condition.feature], errors="coerce").dropna()
    v = float(condition.value)
    genotype = data.family_of.get(condition.feature) == "genetic" and set(values.unique()) <= {0, 1, 2}
    if condition.kind not in ("le", "lt", "gt", "ge", "eq") or not v.is_integer() or not genotype:
        return condition
    if condition.kind == "eq":  # only a genotype's 0 is one side of a cut-point ("= 0 (non-carrier)")
        return Condition(condition.feature, "le", 0.5, integer=True, genetic=True) if v == 0 else condition
    kind, threshold = {"ge": ("gt", v - 0.5), "gt": ("gt", v + 0.5), "le": ("le", v + 0.5), "lt": ("le", v - 0.5)}[condition.kind]
    return Condition(condition.feature, kind, threshold, integer=True, genetic=True)
