"""What may appear in a report: one small-cell policy for every output.

Every page, figure, the index and results.json follow the same rules, with ``m`` = `report.min_cell`:

* A count between 1 and m - 1 is shown as "<m" (0 is shown: it discloses nobody). When a group of
  counts has a known total, one hidden cell could be recovered by subtraction, so the next smallest
  cell of that group is hidden too (complementary suppression; Hundepool et al. 2012, *Statistical
  Disclosure Control*, ch. 4). That cell holds m or more and is shown as "suppressed", never as
  "<m", and every table holding one carries `SUPPRESSED_NOTE` beneath it.
* A total is not shown next to a part that would reveal a hidden count by subtraction (rows read
  minus rows analysed when fewer than m rows were excluded).
* A subgroup hypothesis is reported only when the subgroup and its comparator each hold at least m
  patients in either arm among the patients its estimates come from. Otherwise it is listed as
  "too small to report": no rule (so no level name), no effect, CI, p-value, count or prevalence.
* A prevalence is rounded so that the count it implies is known only to the nearest multiple of m.
* A statistic computed from a hidden cell (a standardized difference of a level held by fewer than
  m patients in an arm, a share next to "<m") is not shown.
* Category levels held by fewer than m patients are never named: the audit groups them, and rule
  texts show them as one placeholder.
* Histograms have no bin with 1 to m - 1 patients: neighbouring bins are merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

TOO_SMALL = "too small to report"
SUPPRESSED = "suppressed"  # a count of min_cell or more, hidden only so that a small cell cannot be recovered
SUPPRESSED_NOTE = (
    "“suppressed”: a count that is not small itself, hidden only so that a small count elsewhere in its group "
    "cannot be recovered by subtraction (complementary suppression)."
)


def suppress_count(count: int, min_cell: int) -> int | str:
    """`count`, or the text "<min_cell" when 0 < count < min_cell."""
    count = int(count)
    return f"<{min_cell}" if 0 < count < min_cell else count


def suppress_group(counts: pd.Series, min_cell: int) -> pd.Series:
    """Suppress small counts of one group whose total is published, with complementary suppression.

    Returns an object Series of ints, "<min_cell" texts (counts 1 to min_cell - 1) and `SUPPRESSED`
    (the complement: a count of min_cell or more hidden only to protect the small one), same index as `counts`.
    """
    counts = counts.astype(int)
    hidden = (counts > 0) & (counts < min_cell)
    out = counts.astype(object)
    out[hidden] = f"<{min_cell}"
    if int(hidden.sum()) == 1 and len(counts) > 1:
        candidates = counts[~hidden & (counts > 0)]
        if not candidates.empty:
            out[candidates.idxmin()] = SUPPRESSED
    return out


def suppress_events(events: int | None, n: int, min_cell: int) -> int | str | None:
    """Events among `n` patients whose n is shown: "<min_cell" when the events are a small count, `SUPPRESSED`
    when the patients without an event (n minus events) are (the events themselves are then not small)."""
    if events is None:
        return None
    events = int(events)
    if 0 < events < min_cell:
        return f"<{min_cell}"
    return SUPPRESSED if 0 < int(n) - events < min_cell else events


#: The text of a hidden count: "<m" (1 to m - 1) or `SUPPRESSED` (complementary).
SUPPRESSED_TEXT = re.compile(r"<[0-9]+|" + SUPPRESSED)


def count_text(value: Any, missing: Any = "") -> Any:
    """How a count is printed: the integer with thousands separators ("1,054"; a fractional expected count
    rounded), the text that hides it ("<10", "suppressed"), `missing` for None or NaN, anything else as it
    is. Takes a count as computed (a number or the hiding text) or as results.json holds it (a record with
    `value`, `suppressed` and `shown`)."""
    if isinstance(value, Mapping):
        return str(value["shown"])
    if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return missing
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and np.isfinite(value):
        return f"{int(round(value)):,}"
    return value


def count_value(count: Any) -> int | None:
    """The integer of a count (as computed, or a results.json record), or None when hidden or absent."""
    if isinstance(count, Mapping):
        return None if count.get("suppressed") else count.get("value")
    if isinstance(count, (int, np.integer)) and not isinstance(count, (bool, np.bool_)):
        return int(count)
    return None


def is_suppressed(value: object) -> bool:
    """True for a count hidden by this policy: "<min_cell" (small) or `SUPPRESSED` (complementary), as
    computed or as a results.json record."""
    if isinstance(value, Mapping):
        return bool(value.get("suppressed"))
    return isinstance(value, str) and (value.startswith("<") or value == SUPPRESSED)


def small(count: int | None, min_cell: int) -> bool:
    """True for a count that may not be shown (1 to min_cell - 1); None (unknown) is not small."""
    return count is not None and 0 < int(count) < min_cell


# --- totals and their parts ------------------------------------------------------------------------


def suppress_total(total: int, shown_part: int, min_cell: int) -> int | str:
    """`total` (e.g. rows read), or `SUPPRESSED` when total minus `shown_part` (e.g. rows analysed) is a small count."""
    return SUPPRESSED if small(int(total) - int(shown_part), min_cell) else int(total)


def suppress_part(part: int, total: int, min_cell: int) -> int | str:
    """`part` (e.g. patients analysed after overlap trimming), or `SUPPRESSED` when the total (shown elsewhere)
    minus `part` would be a small count (e.g. 3 patients trimmed)."""
    return SUPPRESSED if small(int(total) - int(part), min_cell) else int(part)


def suppress_reasons(counts: Mapping[str, int], min_cell: int) -> dict[str, int | str]:
    """Counts per reason (e.g. rows excluded, by why) whose sum is known: small ones hidden, with a complement."""
    if not counts:
        return {}
    return dict(suppress_group(pd.Series(dict(counts), dtype=int), min_cell).items())


# --- subgroups -----------------------------------------------------------------------------------


def too_small_reason(
    subgroup: Sequence[int], comparator: Sequence[int | None] | None, min_cell: int, comparator_name: str = "its comparator"
) -> str | None:
    """Why a subgroup hypothesis may not be reported, or None when it may.

    `subgroup` and `comparator` are (treated, control) patients among those its estimates come from;
    an unknown comparator (None) is judged on the subgroup alone.
    """
    arms = ("treated", "control")
    for what, counts in (("the subgroup", subgroup), (comparator_name, comparator)):
        if counts is None:
            continue
        for arm, count in zip(arms, counts):
            if count is not None and int(count) < min_cell:
                return f"fewer than {min_cell} {arm} patients in {what}"
    return None


def too_small_record(record: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """What a subgroup hypothesis that is too small to report leaves in the outputs: that it exists,
    how it was found and its status; no rule, level name, effect, CI, p-value, count or prevalence."""
    return {
        "rule": TOO_SMALL,
        "hypothesis": TOO_SMALL,
        "too_small": reason,
        "level": record.get("level", 1),
        "found_on": record.get("found_on", ""),
        "status": record.get("status", ""),
    }


def rounded_share(share: float, n: int, min_cell: int) -> float:
    """`share` of `n` patients rounded so that share × n is known only to the nearest multiple of `min_cell`.

    The true count lies anywhere in an interval of `min_cell` counts around the one implied, so a
    count below `min_cell` (in the group or its complement) cannot be solved for.
    """
    if not (np.isfinite(share) and n > 0):
        return float("nan")
    if min_cell <= 1:
        return float(share)
    step = min_cell / n
    return float(np.clip(np.round(share / step) * step, 0.0, 1.0))


# --- level names ---------------------------------------------------------------------------------


def rare_levels(features: pd.DataFrame, categorical: Mapping[str, Iterable[str]], min_cell: int) -> dict[str, set[str]]:
    """Levels of each categorical feature held by fewer than `min_cell` patients (their names are never shown)."""
    out = {}
    for name, levels in categorical.items():
        counts = features[name].astype("string").fillna("(missing)").value_counts()
        hidden = {str(level) for level in levels if 0 < int(counts.get(str(level), 0)) < min_cell}
        if hidden:
            out[name] = hidden
    return out


def rare_placeholder(min_cell: int) -> str:
    return f"(levels with < {min_cell} patients each)"


def mask_levels(text: str, rare: Mapping[str, set[str]], levels: Mapping[str, Iterable[str]], min_cell: int) -> str:
    """`text` (a rule, hypothesis or comparator) with every rare level name replaced by one placeholder.

    Reads the forms rules are written in: ``feature = level``, ``feature in {a, b}`` and
    ``feature not in {a, b}`` (levels sorted, joined by ", "), matching whole known levels, so a
    level containing ", " or "}" is read correctly.
    """
    for feature, hidden in rare.items():
        known = sorted({str(v) for v in levels[feature]}, key=len, reverse=True)
        head = re.compile(r"(?:^|(?<=[ {(]))" + re.escape(feature) + r" (= |in \{|not in \{)")
        pos, out = 0, []
        for match in head.finditer(text):
            if match.start() < pos:
                continue
            start = match.end()
            parsed = _read_levels(text, start, known, single=match.group(1) == "= ")
            if parsed is None:
                continue
            found, end = parsed
            if not set(found) & hidden:
                continue
            shown = [lv for lv in found if lv not in hidden] + [rare_placeholder(min_cell)]
            out += [text[pos:start], ", ".join(shown)]
            pos = end
        text = "".join(out) + text[pos:]
    return text


def _read_levels(text: str, start: int, known: list[str], single: bool) -> tuple[list[str], int] | None:
    """Levels written at `start` (one, or a "{...}" list up to its closing brace) and where they end."""
    found, pos = [], start
    while True:
        level = next((lv for lv in known if text.startswith(lv, pos)), None)
        if level is None:
            return None
        found.append(level)
        pos += len(level)
        if single:
            return found, pos
        if text.startswith(", ", pos):
            pos += 2
            continue
        if text.startswith("}", pos):
            return found, pos  # the closing brace stays
        return None


# --- histograms ----------------------------------------------------------------------------------


def merged_bin_edges(samples: Sequence[np.ndarray], edges: np.ndarray, min_cell: int) -> np.ndarray:
    """Bin `edges` with neighbouring bins merged until no bin holds 1 to `min_cell` - 1 values of any sample.

    Bins are merged from the left; a small remainder at the right end joins the bins before it.
    Every sample is drawn with the returned edges.
    """
    edges = np.asarray(edges, dtype=float)
    counts = np.array([np.histogram(np.asarray(s, float), bins=edges)[0] for s in samples])  # samples x bins

    def ok(column: np.ndarray) -> bool:
        return bool(np.all((column == 0) | (column >= min_cell)))

    groups: list[list[int]] = []
    current: list[int] = []
    for b in range(counts.shape[1]):
        current.append(b)
        total = counts[:, current].sum(axis=1)
        if total.any() and ok(total):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    while len(groups) > 1 and not ok(counts[:, groups[-1]].sum(axis=1)):
        last = groups.pop()
        groups[-1] = groups[-1] + last
    return np.array([edges[g[0]] for g in groups] + [edges[groups[-1][-1] + 1]])
