"""An analysis as a notebook shows it: the headline lines of `repr`, the subgroup frame and the summary tables,
all read from results.json (so they show exactly the reported, suppressed numbers)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from subgroups.privacy import count_text, count_value


def _value(value: Any, spec: str = ".3g", missing: str = "–") -> str:
    """A number as the reports format it, or `missing` for null; a suppressed count ("<10") as it is."""
    if value is None:
        return missing
    if isinstance(value, str):
        return value
    return format(value, spec)


def _p(p: float | None) -> str:
    """A p-value after "p": "< 0.001" or "= 0.0123" ("= –" when null)."""
    return "< 0.001" if p is not None and p < 0.001 else f"= {_value(p)}"


def _count(value: Any) -> str:
    """A count (a results.json record, or an integer such as a planned N) as printed; missing: as `_value`."""
    return count_text(value) if isinstance(value, (Mapping, int)) and not isinstance(value, bool) else _value(value)


def headline(results: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) lines of `Analysis.__repr__` and `_repr_html_`, from results.json: the first is the title."""
    from subgroups.narrative import effect_text

    data, ate, het, sub, design = (results[k] for k in ("data", "ate", "heterogeneity", "subgroups", "design"))
    title = (results["params"].get("report") or {}).get("title")
    arms, out = data["arms"], data["outcome"]
    from subgroups.narrative.text import unit_suffix

    unit = unit_suffix(results)
    lines = [("", f"subgroups.Analysis {results['name']!r}" + (f": {title}" if title else ""))]
    lines.append(("data", f"{_count(data['n'])} patients ({data['study']}): {_count(data['n_treated'])} on {arms['treated']} "
                          f"(treated), {_count(data['n_control'])} on {arms['control']} (control)"))  # fmt: skip
    better = "higher" if out["higher_is_better"] else "lower"
    lines.append(("outcome", f"{out['name']} ({out['type']}, {better} is better); effect: {ate['scale']}"))
    hr = ate.get("hazard_ratio")
    hr_text = f"; hazard ratio {effect_text(hr['estimate'], hr['ci_low'], hr['ci_high']).lstrip('+')}" if hr else ""
    lines.append(("average effect", f"{effect_text(ate['estimate'], ate['ci_low'], ate['ci_high'])}{unit}, "
                  f"{ate['ci_level']:.0%} CI, p {_p(ate['p_value'])}, {ate['status']}{hr_text}"))  # fmt: skip
    calibration = het["calibration"]
    claims = het.get("claims") or []
    rejected = sum(bool(c.get("rejected")) for c in claims)
    lines.append(("heterogeneity", f"{'detected' if het['detected'] else 'not detected'} at α = {het['alpha']:g} "
                  f"(calibration slope {_value(calibration['estimate'])}, one-sided p {_p(calibration['p_value'])}"
                  + (f"; per-feature max-T p {_p(het['max_t']['p_value'])}" if het.get("max_t") else "")
                  + (f"; {rejected} of {len(claims)} claims rejected" if len(claims) > 1 else "") + ")"))  # fmt: skip
    shown = [c for c in sub["candidates"]]
    validated = [c for c in shown if c["status"] == "validated"]
    hidden = len(sub["too_small"]["candidates"])
    text = f"{len(validated)} of {len(shown)} hypotheses validated" + (f" ({hidden} too small to report)" if hidden else "")
    if validated:
        first, r = validated[0], validated[0]["reported"]
        text += f"; first: {first['hypothesis']}, {effect_text(r['effect'], r['ci_low'], r['ci_high'])} [{r['estimator']}]"
    lines.append(("subgroups", text + (f"; {len(sub['prespecified'])} pre-specified" if sub["prespecified"] else "")))
    options = {o["design"]: o for o in design.get("options") or []}
    if design.get("recommended") in options:
        best = options[design["recommended"]]
        target = "" if design["recommended"] == "all_comers" or not design.get("subgroup") else f" in {design['subgroup']}"
        screened = best.get("n_screened_expected")
        more = (
            f", about {np.ceil(screened):,.0f} screened"
            if screened is not None and screened > (best["n_randomized"] or 0)
            else ""
        )
        lines.append(("next trial", f"{design['recommended'].replace('_', ' ')}{target}: N = {_count(best['n_randomized'])} "
                      f"randomized{more}, power {_value(best.get('power_any'), '.0%')}, assurance {_value(best.get('assurance_any'), '.0%')}"))  # fmt: skip
    else:
        lines.append(("next trial", design.get("note") or "no design planned"))
    prov = results["provenance"]
    lines.append(("provenance", f"data sha256 {prov['data_sha256'][:12]}…, seed {prov['seed']}, subgroups "
                  f"{prov['packages'].get('subgroups')}, {prov['generated_at']}"))  # fmt: skip
    lines.append(("more", "summary(), subgroups_frame(), plot_forest(ax=...), effect(new_rows), results"))
    return lines


SUBGROUP_COLUMNS = ("hypothesis", "status", "estimator", "effect", "ci_low", "ci_high", "comparator_effect", "difference",
                    "p_adjusted", "prevalence", "n_treated", "n_control", "rule", "level", "source")  # fmt: skip


def subgroups_table(results: dict[str, Any]) -> pd.DataFrame:
    """`Analysis.subgroups_frame`: one row per hypothesis as results.json reports it (suppressed stays suppressed)."""
    rows = []
    section = results["subgroups"]
    listed = [("discovered", c) for c in section["candidates"]] + [("pre-specified", c) for c in section["prespecified"]]
    hidden = [("discovered", c) for c in section["too_small"]["candidates"]]
    hidden += [("pre-specified", c) for c in section["too_small"]["prespecified"]]
    # Reported hypotheses first, then those too small to report (no rule, no numbers).
    for source, c in listed + hidden:
        r = c.get("reported") or {}
        rows.append({
            "hypothesis": c.get("hypothesis", c["rule"]), "status": c.get("status"), "estimator": r.get("estimator"),
            "effect": r.get("effect"), "ci_low": r.get("ci_low"), "ci_high": r.get("ci_high"),
            "comparator_effect": r.get("comparator_effect"), "difference": r.get("difference"),
            "p_adjusted": c.get("p_adjusted"), "prevalence": c.get("prevalence"),
            "n_treated": c.get("n_treated"), "n_control": c.get("n_control"),
            "rule": c["rule"], "level": c.get("level", 1), "source": source,
        })  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(SUBGROUP_COLUMNS))
    numbers = ["effect", "ci_low", "ci_high", "comparator_effect", "difference", "p_adjusted", "prevalence"]
    frame[numbers] = frame[numbers].astype(float)
    for column in ("n_treated", "n_control"):  # integers, unless a count is suppressed ("<10") or absent
        values = [_count_cell(row[column]) for row in rows]
        frame[column] = pd.Series(values, dtype=int if all(isinstance(v, int) for v in values) else object)
    return frame


def _count_cell(count: Any) -> Any:
    """A count in `subgroups_frame`: the integer, the text hiding it ("<10", "suppressed"), or None when absent."""
    if count is None:
        return None
    value = count_value(count)
    return count_text(count) if value is None else value


class AnalysisSummary:
    """`Analysis.summary()`: the headline results as titled tables (statsmodels-style); `print` it, or let a
    notebook display it. `tables` maps each title to its DataFrame (formatted text, as in the reports)."""

    def __init__(self, title: str, header: list[tuple[str, str]], tables: dict[str, pd.DataFrame], notes: list[str]):
        self.title, self.header, self.tables, self.notes = title, header, tables, notes

    @classmethod
    def from_results(cls, results: dict[str, Any]) -> AnalysisSummary:
        from subgroups.narrative import effect_text

        lines = headline(results)
        ate, het, sub, design = (results[k] for k in ("ate", "heterogeneity", "subgroups", "design"))
        level = f"{ate['ci_level']:.0%} CI"
        effect_rows = [{"": "average effect", "scale": ate["scale"] + (f"; effect in {ate['unit']}" if ate.get("unit") else ""),
                        f"estimate ({level})": effect_text(ate["estimate"], ate["ci_low"], ate["ci_high"]),
                        "p": _p(ate["p_value"]).lstrip("= "), "n": _count(ate["n"]), "status": ate["status"]}]  # fmt: skip
        if hr := ate.get("hazard_ratio"):
            effect_rows.append({"": "hazard ratio", "scale": "treated vs control (Cox)",
                                f"estimate ({level})": effect_text(hr["estimate"], hr["ci_low"], hr["ci_high"]).lstrip("+"),
                                "p": _value(hr.get("p_value")), "n": _count(ate["n"]), "status": "secondary summary"})  # fmt: skip
        claims = [{"claim": c["claim"], "origin": c.get("origin", ""), "p": _p(c["p_value"]).lstrip("= "),
                   "level at start": _value(c.get("alpha_start"), ".3g"), "adjusted p": _p(c["p_adjusted"]).lstrip("= "),
                   "rejected": "yes" if c.get("rejected") else "no"} for c in het.get("claims") or []]  # fmt: skip
        for key, label in (("autoc", "AUTOC (supporting)"), ("qini", "Qini (supporting)")):
            t = het[key]
            claims.append({"claim": f"{label} {_value(t['estimate'])}", "origin": "held-out ranking", "p": _p(t["p_value"]).lstrip("= "),
                           "level at start": "–", "adjusted p": "–", "rejected": "–"})  # fmt: skip
        frame = subgroups_table(results)
        hypotheses = pd.DataFrame({
            "hypothesis (subgroup vs comparator)": frame["hypothesis"], "status": frame["status"],
            "estimate": frame["estimator"].fillna("–"),
            f"effect ({level})": [effect_text(*(None if pd.isna(v) else v for v in x))
                                  for x in zip(frame["effect"], frame["ci_low"], frame["ci_high"])],
            "comparator": [_value(None if pd.isna(v) else v, "+.3g") for v in frame["comparator_effect"]],
            "difference": [_value(None if pd.isna(v) else v, "+.3g") for v in frame["difference"]],
            "adjusted p": [_p(None if pd.isna(v) else v).lstrip("= ") for v in frame["p_adjusted"]],
            "n (treated + control)": [f"{_count(t)} + {_count(c)}" if t is not None else "–"
                                      for t, c in zip(frame["n_treated"], frame["n_control"])],
        })  # fmt: skip
        tables = {"Average effect": pd.DataFrame(effect_rows), "Heterogeneity claims": pd.DataFrame(claims),
                  "Subgroup hypotheses": hypotheses}  # fmt: skip
        options = design.get("options") or []
        if options:
            tables["Designs for the next trial"] = pd.DataFrame([{
                "design": f"{o.get('label', '')} {o['design'].replace('_', ' ')}".strip()
                + (" (recommended)" if o["design"] == design.get("recommended") else ""),
                "claims": o.get("claims") or "",
                "N randomized": "not estimable" if o.get("estimable") is False else _count(o["n_randomized"]),
                "screened (expected)": _value(None if o.get("n_screened_expected") is None else np.ceil(o["n_screened_expected"]), ",.0f"),
                "power (any claim)": _value(o.get("power_any"), ".0%"),
                "assurance (any claim)": _value(o.get("assurance_any"), ".0%"),
            } for o in options])  # fmt: skip
        notes = [het["decision"], sub["conclusion"]] + ([design["note"]] if design.get("note") else [])
        return cls(lines[0][1], lines[1:-1], tables, notes)

    def __str__(self) -> str:
        blocks = {title: table.to_string(index=False) for title, table in self.tables.items()}
        width = max([78, len(self.title) + 4] + [len(line) for text in blocks.values() for line in text.splitlines()])
        width = min(width, 160)
        label = max(len(k) for k, _ in self.header)
        out = [self.title.center(width), "=" * width]
        out += [f"{k + ':':<{label + 1}} {v}" for k, v in self.header]
        for title, text in blocks.items():
            out += ["", f" {title} ".center(width, "-"), text]
        out += ["=" * width, "Notes:"] + [f"[{i}] {note}" for i, note in enumerate(self.notes, 1)]
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        header = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self.header
        )
        parts = [f"<h4>{html.escape(self.title)}</h4>", f"<table>{header}</table>"]
        for title, table in self.tables.items():
            parts += [f"<h5>{html.escape(title)}</h5>", table.to_html(index=False, escape=True, border=0)]
        parts.append("<ol>" + "".join(f"<li>{html.escape(note)}</li>" for note in self.notes) + "</ol>")
        return "<div>" + "".join(parts) + "</div>"
