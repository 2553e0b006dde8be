"""Report text primitives: user text escaped for Markdown, numbers, p-values, counts and effects with their CIs,
variables and arms named as the reader knows them, and HTML tables with the footnotes their hidden counts need."""

from __future__ import annotations

import re
import string
from html import escape as escape_html
from typing import Any

import numpy as np
import pandas as pd

from subgroups.privacy import SUPPRESSED, SUPPRESSED_NOTE
from subgroups.privacy import count_text as count_text  # re-exported: the pages format counts with it

# Line breaks that Markdown (or str.splitlines) would honour: a label must not start a new block.
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# Entities, not backslashes, for the HTML-special characters: entities stay inert even where a
# Markdown renderer treats a line as raw HTML and ignores backslash escapes.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}


def md_escape(value: object) -> str:
    """Text from the data or the parameters (column names, levels, arm labels, file names, rules) made
    safe for report Markdown: it renders literally, never as markup, HTML, a link or `$` math.

    Every user-supplied string passes through here before it reaches a Markdown sentence; tables
    go through `table` (HTML-escaped by pandas). HTML-special characters become entities, every
    other ASCII punctuation character is backslash-escaped (CommonMark allows this for all of them),
    and line breaks become spaces.
    """
    text = _LINE_BREAKS.sub(" ", str(value))
    return "".join(_ENTITIES.get(c) or (f"\\{c}" if c in string.punctuation else c) for c in text)


def md_code(value: object) -> str:
    """A name shown as code in report Markdown, escaped by `md_escape` (a backtick code span would
    let a name containing backticks close the span and inject markup)."""
    return f"<code>{md_escape(value)}</code>"


def fmt(value: float | None, spec: str) -> str:
    """A number formatted with `spec`, or "n/a" when it is missing (null in results.json)."""
    return "n/a" if value is None else format(value, spec)


def number(value: float, digits: int = 3) -> str:
    return f"{value:+.{digits}g}" if abs(value) >= 1e-3 else f"{value:+.2e}"


def p_value(p: float | None) -> str:
    """A p-value as every table prints it: "< 0.001" below 0.001, else 2 significant digits ("0.038"); "–" when null."""
    return "–" if p is None else "< 0.001" if p < 0.001 else f"{p:.2g}"


def p_text(p: float | None) -> str:
    """A p-value in a sentence: "p < 0.001", else "p = 0.038" (2 significant digits, as `p_value`)."""
    return "p n/a" if p is None else "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def effect_text(effect: float | None, low: float | None, high: float | None) -> str:
    """An effect with its CI, formatted the same way in every table, figure and sentence of the reports."""
    if effect is None:
        return "n/a"
    return f"{effect:+.3g} ({fmt(low, '.3g')} to {fmt(high, '.3g')})"


# --- names as the reader knows them (the variable dictionary, data.labels) ------------------------


def variable_labels(results: dict[str, Any] | None) -> dict[str, Any]:
    """The variable dictionary of a run (`results["data"]["labels"]`): column name -> label and unit."""
    return ((results or {}).get("data") or {}).get("labels") or {}


def display_name(name: object, results: dict[str, Any] | None, unit: bool = False) -> str:
    """How the reports name a variable: its label from the variable dictionary (`results["data"]["labels"]`:
    `data.labels` of the parameters, else the data file's labels), with " (unit)" when `unit`; else the
    column name. Plain text: escape it (`md_escape`, `md_code`) before it reaches Markdown."""
    entry = variable_labels(results).get(str(name))
    if not entry:
        return str(name)
    return entry["label"] + (f" ({entry['unit']})" if unit and entry.get("unit") else "")


def arm_name(which: str, results: dict[str, Any]) -> str:
    """How the reports name an arm ("treated" or "control"): `data.treatment.labels`, else its value in the data."""
    data = results["data"]
    return (data.get("arm_names") or {}).get(which) or str(data["arms"][which])


def display_rule(text: str, results: dict[str, Any] | None) -> str:
    """A rule, hypothesis or comparator with every labelled feature named by its label ("Karnofsky score ≥ 90").

    Replaces a feature name only where a condition starts (the start, or after a space, "{" or "(") and an
    operator follows, as the rules are written (`subgroups.rule_language.Condition.text`); longest names first.
    """
    from subgroups.rule_language import feature_text

    labels = variable_labels(results)
    if not labels or not isinstance(text, str):
        return text
    written = {feature_text(name): name for name in labels}  # as rules write them (`in backticks` when not a plain word)
    names = sorted(written, key=len, reverse=True)
    pattern = re.compile(
        r"(?:^|(?<=[ {(]))(" + "|".join(re.escape(n) for n in names) + r")(?= (?:≤|<|>|≥|=|≠|in \{|not in \{|missing|recorded))"
    )
    return pattern.sub(lambda m: labels[written[m.group(1)]]["label"], text)


# --- tables: HTML without the index, footnoted where a count is hidden (subgroups.privacy) ----------


def table(frame: pd.DataFrame) -> str:
    """A DataFrame as a plain HTML table without the index, with a footnote for each kind of hidden count
    it holds (`suppression_notes`). Whole numbers (counts) get thousands separators, as everywhere in the reports."""
    frame = frame.map(lambda v: count_text(v) if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) else v)
    html = frame.to_html(index=False, border=0, classes="sg-table", na_rep="", escape=True)
    notes = suppression_notes(frame)
    return html + "".join(f'\n<p class="sg-note"><small>{escape_html(note)}</small></p>' for note in notes)


FOLDED_ROWS = 40  # a longer table is folded under a one-line summary (`folded_table`)


def folded_table(frame: pd.DataFrame, what: str, limit: int = FOLDED_ROWS) -> str:
    """`table(frame)`, folded under a one-line summary ("<what> (508 rows; click to show)") when it has more than
    `limit` rows, so that a trial with hundreds of genotyped variants keeps a page that can be read."""
    html = table(frame)
    if len(frame) <= limit:
        return html
    return f"<details><summary>{escape_html(what)} ({len(frame):,} rows; click to show)</summary>\n{html}\n</details>"


_SMALL_CELL = re.compile(r"(?:^|\s)<(\d+)(?:\s|$)")
_SUPPRESSED_CELL = re.compile(r"(?:^|[\s(/])" + re.escape(SUPPRESSED) + r"(?:[\s)/]|$)")


def suppression_notes(frame: pd.DataFrame) -> list[str]:
    """The footnotes a table's hidden counts need (subgroups.privacy): "<m" for a small count, and
    "suppressed" for a count hidden only to protect a small one."""
    cells = [str(v) for v in frame.to_numpy().ravel() if isinstance(v, str)]
    notes = []
    small = next((m.group(1) for c in cells if (m := _SMALL_CELL.search(c))), None)
    if small is not None:
        notes.append(f"“<{small}”: a count between 1 and {int(small) - 1}, not shown so that no patient can be singled out.")
    if any(_SUPPRESSED_CELL.search(c) for c in cells):
        notes.append(SUPPRESSED_NOTE)
    return notes


def effect_unit(results: dict[str, Any]) -> str | None:
    """The unit effects are in: the average effect's own (time-to-event: the time unit), else the outcome column's
    unit (`data.labels`, or the data file's, e.g. ADaM AVALU); None when none says."""
    if results.get("ate", {}).get("unit"):
        return str(results["ate"]["unit"])
    data = (results.get("params") or {}).get("data") or {}
    column = (data.get("outcome") or {}).get("column") or ""
    for labels in ((results.get("data") or {}).get("labels"), data.get("labels")):  # as analysed (files too), as declared
        entry = (labels or {}).get(column)
        if isinstance(entry, dict) and entry.get("unit"):
            return str(entry["unit"])
    return None


def unit_suffix(results: dict[str, Any]) -> str:
    """' <unit>' to write after an effect ("+69.5 cells/mm³"), or '' when no unit is known (`effect_unit`)."""
    unit = effect_unit(results)
    return f" {unit}" if unit else ""
