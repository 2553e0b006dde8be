"""Every figure of the reports: static matplotlib, so they survive HTML export. No patient-level marks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from subgroups.audit import IMBALANCE, Audit
from subgroups.narrative import display_name, display_rule, effect_text, p_text
from subgroups.privacy import count_text, merged_bin_edges

# Names from the data are drawn as typed: without this, matplotlib reads `$...$` as mathtext (a
# name like `$x^2$` would be typeset, and an invalid one such as `$\foo$` fails the figure).
LITERAL = {"parse_math": False}

FAMILY_COLORS = {"genetic": "#7b3294", "lifestyle": "#008837", "disease": "#ca0020", "other": "#636363"}


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


BALANCE_ROWS = 40  # rows the balance figure shows at most: the largest |SMD| (hundreds of variants stay readable)


def balance(audit: Audit, ax: Axes | None = None, max_rows: int = BALANCE_ROWS) -> Axes:
    """Standardized differences between arms per feature (level), with the ±0.1 band; with more than `max_rows`
    rows, the `max_rows` largest |SMD| (in the table's order), and the title says so."""
    table = audit.balance.copy()
    total = len(table)
    if total > max_rows:
        table = table.loc[table["SMD"].abs().sort_values(ascending=False, kind="stable").index[:max_rows]].sort_index()
    # The variable dictionary's label where the audit has one (data.labels), else the column name.
    name = table["label"].where(table["label"].astype(str) != "", table["feature"]) if "label" in table else table["feature"]
    table["tick"] = np.where(
        table["level"] == "mean (SD)",
        name,
        name + " " + table["level"].str.replace(", n (%)", "", regex=False),
    )
    table = table.iloc[::-1]
    ax = _axes(ax, (6.5, max(3.0, 0.22 * len(table) + 1)))
    colors = np.where(table["SMD"].abs() > IMBALANCE, "#ca0020", "#404040")
    ax.scatter(table["SMD"], np.arange(len(table)), c=colors, s=18, zorder=3)
    ax.axvspan(-IMBALANCE, IMBALANCE, color="#dddddd", zorder=1)
    ax.axvline(0, color="black", lw=0.8)
    reach = max(0.25, 1.15 * float(table["SMD"].abs().max()))
    ax.set_xlim(-reach, reach)
    ax.set_yticks(np.arange(len(table)), table["tick"], fontsize=7, **LITERAL)
    ax.set_xlabel("standardized difference (treated − control)")
    shown = f": the {len(table)} largest of {total:,} differences" if total > len(table) else ""
    ax.set_title(f"Baseline balance between arms{shown} (grey band: |SMD| ≤ 0.1)")
    return ax


def effect_distribution(
    cate: np.ndarray, ate: dict, ax: Axes | None = None, calibrated: np.ndarray | None = None, min_cell: int = 10
) -> Axes:
    """Histogram of cross-fitted per-patient effect estimates, with the average effect and its CI;
    `calibrated` (e.g. `Analysis.calibrate(cate)`) adds the spread the calibration test supports.

    No bar stands for 1 to `min_cell` - 1 patients (`report.min_cell`): neighbouring bins are merged
    (`privacy.merged_bin_edges`), and bars show patients per unit of effect so wider bins read right.
    Each distribution is binned over its own range: the calibrated effects are often much narrower than the
    model's (little heterogeneity supported), and on the model's bins they would be drawn as wide as the bin
    that holds them. A calibrated peak taller than the axis is cut at its top (the legend says so); calibrated
    effects without any spread are drawn as one line.
    """
    ax = _axes(ax, (6.5, 3.5))

    def histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bins = merged_bin_edges([values], np.histogram_bin_edges(values, bins=30), min_cell)
        widths = np.diff(bins)
        return np.histogram(values, bins=bins)[0] / np.where(widths > 0, widths, 1.0), bins

    density, bins = histogram(np.asarray(cate, float))
    ax.stairs(density, bins, fill=True, color="#92c5de", label="model's estimates")
    top = 1.15 * float(density.max()) if density.size and density.max() > 0 else 1.0
    if calibrated is not None:
        cal = np.asarray(calibrated, float)
        label = "calibrated (spread the data support)"
        if np.ptp(cal) <= 1e-9 * max(1.0, float(np.abs(cal).max())):
            ax.axvline(float(cal[0]), color="#053061", lw=1.5, label=f"{label}: none, every patient {cal[0]:.3g}")
        else:
            cal_density, cal_bins = histogram(cal)
            if cal_density.max() > top:  # said in the legend, which no bar can hide
                peak = float(cal_density.max())
                label = f"{label};\npeak cut at the top: {f'{peak:,.0f}' if peak >= 100 else f'{peak:.3g}'} per unit"
            ax.stairs(np.minimum(cal_density, top), cal_bins, color="#053061", lw=1.5, label=label)
    ax.set_ylim(0, top)
    ax.axvspan(ate["ci_low"], ate["ci_high"], color="#f4a582", alpha=0.5, label=f"average effect, {ate['ci_level']:.0%} CI")
    ax.axvline(ate["estimate"], color="#ca0020", lw=2, label=f"average effect {ate['estimate']:.3g}")
    ax.axvline(0, color="black", lw=0.8, ls="--")
    ax.set_xlabel(f"estimated effect ({ate['scale']}, treated − control)")
    ax.set_ylabel(f"patients per unit of effect\n(bins of ≥ {min_cell} patients)")
    ax.set_title("Distribution of estimated per-patient effects (exploratory)")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def overlap(
    propensity: np.ndarray, treatment: np.ndarray, trim: list[float] | tuple[float, float], ax: Axes | None = None
) -> Axes:
    """Histograms of the estimated propensity per arm, with the trimming bounds (observational studies)."""
    ax = _axes(ax, (6.5, 3.5))
    bins = np.linspace(0, 1, 31)
    treatment = np.asarray(treatment)
    ax.hist(propensity[treatment == 0], bins=bins, color="#92c5de", alpha=0.7, label="control")
    ax.hist(propensity[treatment == 1], bins=bins, color="#f4a582", alpha=0.7, label="treated")
    for bound in trim:
        ax.axvline(bound, color="black", lw=1, ls="--")
    ax.axvspan(0, trim[0], color="#dddddd", zorder=0)
    ax.axvspan(trim[1], 1, color="#dddddd", zorder=0, label="excluded (trimmed)")
    ax.set_xlim(0, 1)
    ax.set_xlabel("estimated probability of treatment given the features (out-of-fold)")
    ax.set_ylabel("patients (binned)")
    ax.set_title("Overlap: could each patient have received either treatment?")
    ax.legend(fontsize=8)
    return ax


def importance(
    by_feature: pd.Series, family_of: dict[str, str], top: int = 15, ax: Axes | None = None, results: dict | None = None
) -> Axes:
    """Mean |SHAP| of the effect model for the `top` features, coloured by family; features named by the
    variable dictionary of `results` (`narrative.display_name`) when given."""
    shown = by_feature.head(top).iloc[::-1]
    ax = _axes(ax, (6.5, max(2.5, 0.3 * len(shown) + 1)))
    colors = [FAMILY_COLORS.get(family_of.get(name, "other"), "#636363") for name in shown.index]
    ax.barh(np.arange(len(shown)), shown.to_numpy(), color=colors)
    ax.set_yticks(np.arange(len(shown)), [display_name(name, results) for name in shown.index], **LITERAL)
    ax.set_xlabel("mean |SHAP value| on the effect (effect scale)")
    ax.set_title(f"Which features change the estimated effect (top {len(shown)})")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in FAMILY_COLORS.values()]
    ax.legend(handles, FAMILY_COLORS.keys(), fontsize=8, loc="lower right")
    return ax


def family_importance(by_family: pd.Series, ax: Axes | None = None) -> Axes:
    """Mean |SHAP| per feature family."""
    shown = by_family.iloc[::-1]
    ax = _axes(ax, (5.5, 2.5))
    ax.barh(np.arange(len(shown)), shown.to_numpy(), color=[FAMILY_COLORS.get(f, "#636363") for f in shown.index])
    ax.set_yticks(np.arange(len(shown)), [str(name) for name in shown.index], **LITERAL)
    ax.set_xlabel("mean |summed SHAP value| of the family")
    ax.set_title("Effect modification by feature family")
    return ax


def toc(curve: pd.DataFrame, scale: str, ax: Axes | None = None) -> Axes:
    """Targeting operator characteristic: extra effect among the top-q ranked patients, with CIs (a note instead of a
    curve when the effect model predicts one effect for every patient)."""
    ax = _axes(ax, (6.5, 3.5))
    if not len(curve):
        ax.text(0.5, 0.5, "no ranking: the effect model predicts one effect for every patient", ha="center", va="center")
        ax.set_axis_off()
        ax.set_title("Does ranking by predicted benefit find patients who benefit more? (held-out)")
        return ax
    ax.fill_between(
        curve["q"],
        curve["ci_low"],
        curve["ci_high"],
        color="#92c5de",
        alpha=0.6,
        label=f"{curve.attrs.get('level', 0.95):.0%} pointwise CI",
    )
    ax.plot(curve["q"], curve["toc"], color="#2166ac", marker="o", ms=3, label="TOC(q)")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("share of patients treated, ranked by predicted benefit (q)")
    if curve.attrs.get("benefit_sign", 1.0) < 0:  # lower outcomes are better: the curve is on the benefit scale
        ax.set_ylabel(f"benefit among top q − average benefit\n(−1 × {scale})")
    else:
        ax.set_ylabel(f"effect among top q − average effect\n({scale})")
    ax.set_title("Does ranking by predicted benefit find patients who benefit more? (held-out)")
    ax.legend(fontsize=8)
    return ax


def _root_variable(rule: str) -> str:
    """The feature a hypothesis starts from: the first condition of its rule (a refinement's parent's)."""
    import re

    found = re.match(r"\s*(`[^`]+`|[^ ]+)", rule)  # a name in backticks may hold spaces (`rule_language.feature_text`)
    return found.group(1) if found else rule


def forest_rows(candidates: list[dict], prespecified: list[dict] | None = None, top: int = 12) -> list[tuple[str, dict | None]]:
    """The forest plot's rows from the top: pre-specified hypotheses first, then the discovered ones
    grouped by the variable they start from (groups ordered by their smallest adjusted p; inside a group
    the first split before its refinements). Each group opens with a header row ``(title, None)``; the
    `top` discovered hypotheses with the smallest adjusted p are drawn. Too-small hypotheses are left out."""
    rows: list[tuple[str, dict | None]] = []
    pre = [c for c in prespecified or [] if "reported" in c]
    if pre:
        rows.append(("Pre-specified", None))
        rows += [("", c) for c in pre]
    found = sorted((c for c in candidates if "reported" in c), key=lambda c: c["p_adjusted"])[:top]
    groups: dict[str, list[dict]] = {}
    for c in found:
        groups.setdefault(_root_variable(c["rule"]), []).append(c)
    for variable, members in groups.items():
        rows.append((variable, None))
        rows += [("", c) for c in sorted(members, key=lambda c: (c.get("level", 1), c["p_adjusted"]))]
    return rows


def forest(
    candidates: list[dict],
    ate: dict,
    top: int = 12,
    ax: Axes | None = None,
    title: str | None = None,
    results: dict | None = None,
    prespecified: list[dict] | None = None,
) -> Axes:
    """Clinical forest plot of the subgroup hypotheses, the overall effect on top.

    Rows (`forest_rows`): the pre-specified hypotheses (when `prespecified` is given) first, then the
    discovered ones grouped by variable. Per row the subgroup's effect (filled) and its comparator's
    (open) with CIs, as `reported` in results.json — adjusted for selection when validated, else
    held-out (pre-specified: all patients, cross-fitted) — the same numbers as the subgroup table; on
    the right the estimate (CI) and the adjusted p of the hypothesis; "favours" labels under the axis
    (by `higher_is_better` in `results`). Rules name the features by the variable dictionary of
    `results` (`narrative.display_rule`) when given.
    """
    rows = forest_rows(candidates, prespecified, top)[::-1]  # drawn bottom-up
    own_figure, height = ax is None, max(2.8, 0.55 * (len(rows) + 1) + 1.6)
    ax = _axes(ax, (9.5, height))
    y_all = np.arange(len(rows), dtype=float)
    data = [(y, c) for y, (_, c) in zip(y_all, rows) if c is not None]
    y = np.array([row for row, _ in data])
    shown = [c for _, c in data]
    overall = len(rows) + 0.4
    reported = [c["reported"] for c in shown]
    colors = ["#ca0020" if c["status"] == "validated" else "#636363" for c in shown]
    if shown:
        ax.hlines(y + 0.12, [r["ci_low"] for r in reported], [r["ci_high"] for r in reported], colors=colors, lw=1.8)
        ax.scatter([r["effect"] for r in reported], y + 0.12, color=colors, zorder=3, s=34, label="subgroup")
        ax.hlines(
            y - 0.12,
            [r["comparator_ci_low"] for r in reported],
            [r["comparator_ci_high"] for r in reported],
            colors=colors,
            lw=1.0,
        )
        ax.scatter([r["comparator_effect"] for r in reported], y - 0.12, facecolors="white", edgecolors=colors, zorder=3, s=28,
                   label="comparator (the rest, or the sibling inside the parent)")  # fmt: skip
    low, high = ate.get("ci_low"), ate.get("ci_high")
    if low is not None and high is not None:
        ax.hlines(overall, low, high, colors="#2166ac", lw=2.2)
    ax.scatter([ate["estimate"]], [overall], marker="D", color="#2166ac", zorder=3, s=40, label="all patients")
    ax.axvline(ate["estimate"], color="#2166ac", ls="--", lw=0.8)
    ax.axvline(0, color="black", lw=0.8)
    labels = [
        f"{display_rule(c.get('hypothesis', c['rule']), results)}\nn = {count_text(c['n_treated'])} + {count_text(c['n_control'])} (treated + control)"
        if c is not None
        else (header if header == "Pre-specified" else f"Discovered: {display_name(header, results)}")
        for header, c in rows
    ]
    ax.set_yticks([*y_all, overall], [*labels, "All patients"], fontsize=8, **LITERAL)
    for tick, (_, c) in zip(ax.get_yticklabels(), rows):
        if c is None:
            tick.set_fontweight("bold")
    for row, (_, c) in zip(y_all, rows):
        if c is None:
            ax.axhline(row + 0.5, color="#d9d9d9", lw=0.8, zorder=0)
    _forest_estimates(ax, y, shown, reported, ate, overall)
    better = True if results is None else bool(results.get("data", {}).get("outcome", {}).get("higher_is_better", True))
    ax.set_xlabel(
        f"effect ({ate['scale']})\n← favours {'control' if better else 'treatment'}    |    "
        f"favours {'treatment' if better else 'control'} →",
        fontsize=9,
    )
    any_validated = any(c["status"] == "validated" for c in shown)
    default = (
        "Subgroup hypotheses (red: validated; grey: not validated)" if any_validated else "Subgroup hypotheses (none validated)"
    )
    ax.set_title(title or default, fontsize=10)
    # The legend sits about 0.75 inch under the axes (below the axis label), whatever the number of rows.
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.75 / max(height - 1.9, 0.9)), ncol=3, frameon=False)
    if own_figure:  # the figure's alt text in the reports (`subgroups.notebook.alt_text`)
        ax.figure.subgroups_alt = _forest_alt_text(shown[::-1], reported[::-1], ate, results)
    return ax


def _forest_alt_text(shown: list[dict], reported: list[dict], ate: dict, results: dict | None) -> str:
    """Every row of the forest in words, top to bottom."""
    described = [f"all patients {effect_text(ate['estimate'], ate.get('ci_low'), ate.get('ci_high'))}"] + [
        f"{display_rule(c.get('hypothesis', c['rule']), results)}: {effect_text(r['effect'], r['ci_low'], r['ci_high'])}, "
        f"adjusted {p_text(c['p_adjusted'])}, {c['status']}"
        for c, r in zip(shown, reported)
    ]
    return f"Forest plot of subgroup effects ({ate['scale']}, estimate and CI): " + "; ".join(described) + "."


def _forest_estimates(ax: Axes, y: np.ndarray, shown: list[dict], reported: list[dict], ate: dict, overall: float) -> None:
    """The forest's right-hand column: each row's estimate (CI), adjusted p and estimator, the overall effect on top."""
    from matplotlib.transforms import blended_transform_factory

    low, high = ate.get("ci_low"), ate.get("ci_high")
    right = blended_transform_factory(ax.transAxes, ax.transData)
    texts = [f"{effect_text(r['effect'], r['ci_low'], r['ci_high'])}  {p_text(c['p_adjusted'])}\n[{r['estimator']}]"
             for c, r in zip(shown, reported)]  # fmt: skip
    for row, text in zip(y, texts):
        ax.text(1.02, row, text, transform=right, va="center", ha="left", fontsize=8, **LITERAL)
    ax.text(1.02, overall, effect_text(ate["estimate"], low, high), transform=right, va="center", ha="left", fontsize=8)
    ax.text(1.02, overall + 0.75, "estimate (CI), adjusted p", transform=right, va="center", ha="left", fontsize=8,
            fontweight="bold")  # fmt: skip
    ax.set_ylim(-0.8, overall + 1.0)


def design_burden(table: pd.DataFrame, recommended: str, ax: Axes | None = None) -> Axes:
    """Randomized and screened patients by design; the recommended design is highlighted."""
    ax = _axes(ax, (7.0, 3.5))
    y = np.arange(len(table))
    names = list(table.index)
    # A design without a size (not estimable, or no benefit to plan for) has None: no bar, not a crash.
    screened, randomized = (pd.to_numeric(table[c], errors="coerce").fillna(0.0) for c in ("n_screened_expected", "n_randomized"))
    ax.barh(y + 0.2, screened, height=0.4, color="#bdbdbd", label="screened (expected)")
    colors = ["#ca0020" if name == recommended else "#4393c3" for name in names]
    ax.barh(y - 0.2, randomized, height=0.4, color=colors, label="randomized")
    ax.set_yticks(y, [name.replace("_", " ") + (" (recommended)" if name == recommended else "") for name in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("patients")
    ax.set_title("Next-trial size by design")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # outside: never over a bar
    return ax


def power_assurance(curves: pd.DataFrame, recommended: str, ax: Axes | None = None) -> Axes:
    """Power at the planning effect (solid) and assurance (dashed) against randomized N."""
    ax = _axes(ax, (7.0, 3.8))
    colors = {"all_comers": "#4393c3", "enrichment": "#ca0020"}
    for design, part in curves.groupby("design", sort=False):
        color = colors.get(design, "#636363")
        label = design.replace("_", " ") + (" (recommended)" if design == recommended else "")
        ax.plot(part["n_randomized"], part["power"], color=color, lw=2, label=f"{label}: power")
        ax.plot(part["n_randomized"], part["assurance"], color=color, lw=2, ls="--", label=f"{label}: assurance")
    ax.axhline(0.8, color="#999999", lw=0.8, ls=":")
    ax.set_ylim(0, 1)
    ax.set_xlabel("randomized patients (N)")
    ax.set_ylabel("probability of success")
    ax.set_title("Power at the planning effect and assurance, by trial size")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def rule_tree(
    candidates: list[dict], ate: dict, max_children: int = 4, ax: Axes | None = None, results: dict | None = None
) -> Axes:
    """The subgroup hypotheses as a tree: all patients, each first split (subgroup and complement),
    then the refinements inside each side (subgroup and sibling).

    Each box shows a side's effect with CI as `reported` in results.json (the numbers of the subgroup
    table), its own share of all patients, and the status of the split that made it ("validated split",
    red): the status belongs to the hypothesis (the two sides differ), not to either side alone.
    With `results`, features are named by the variable dictionary (`narrative.display_rule`).
    """
    from subgroups.narrative import display_rule

    roots = [c for c in candidates if c.get("level", 1) == 1][:3]
    kids = {}
    for root in roots:
        for side in (root["rule"], root["comparator"]):
            kids[side] = [c for c in candidates if c.get("level", 1) == 2 and c.get("parent") == side][
                : max(1, max_children // 2)
            ]
    leaves = [max(1, 2 * len(kids[side])) for root in roots for side in (root["rule"], root["comparator"])]
    width = max(2, sum(leaves))
    ax = _axes(ax, (max(7.0, 1.6 * width), 4.4))
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(0, 3)

    def box(x: float, y: float, label: str, effect: tuple[float, float, float], detail: str, color: str) -> None:
        ax.text(x, y, f"{display_rule(label, results)}\n{effect_text(*effect)}\n{detail}", ha="center", va="center", fontsize=6.5, color=color,
                bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": color}, **LITERAL)  # fmt: skip

    def sides(c: dict, parent_share: float) -> list[tuple[str, tuple[float, float, float], str, float]]:
        """The two sides of hypothesis `c` as (label, effect, detail, share of all patients); `parent_share` is the
        share of the patients it splits (1 for a first split)."""
        r = c["reported"]
        own = c["rule"][len(c["parent"]) + 5 :] if c.get("parent") and c["rule"].startswith(c["parent"] + " and ") else c["rule"]
        other = c["comparator"]
        other = other[len(c["parent"]) + 5 :] if c.get("parent") and other.startswith(c["parent"] + " and ") else other
        shares = (c["prevalence"], max(0.0, parent_share - c["prevalence"]))
        return [
            (label, effect, f"{share:.0%} of patients\n{c['status']} split", share)
            for label, effect, share in zip(
                (own, other),
                (
                    (r["effect"], r["ci_low"], r["ci_high"]),
                    (r["comparator_effect"], r["comparator_ci_low"], r["comparator_ci_high"]),
                ),
                shares,
            )
        ]

    box(width / 2, 2.6, "All patients", (ate["estimate"], ate["ci_low"], ate["ci_high"]), "average effect", "#2166ac")
    left, k = 0.0, 0
    for root in roots:
        color = "#ca0020" if root["status"] == "validated" else "#636363"
        for (label, effect, detail, share), side in zip(sides(root, 1.0), (root["rule"], root["comparator"])):
            span = leaves[k]
            k += 1
            x = left + span / 2
            ax.plot([width / 2, x], [2.45, 1.75], color="#bdbdbd", lw=1, zorder=0)
            box(x, 1.6, ("… " if len(roots) > 1 else "") + label, effect, detail, color)
            kx = left + 0.5
            for kid in kids[side]:
                kid_color = "#ca0020" if kid["status"] == "validated" else "#636363"
                for kid_label, kid_effect, kid_detail, _ in sides(kid, share):
                    ax.plot([x, kx], [1.42, 0.72], color="#bdbdbd", lw=1, zorder=0)
                    box(kx, 0.55, "… and " + kid_label, kid_effect, kid_detail, kid_color)
                    kx += 1
            left += span
    ax.set_title(
        f"Subgroup hypotheses as a tree ({ate['scale']}; validated: adjusted for selection, others: held-out)", fontsize=9
    )
    return ax


def kaplan_meier(
    time: np.ndarray,
    event: np.ndarray,
    treatment: np.ndarray,
    arms: tuple[str, str],
    min_cell: int = 10,
    unit: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Kaplan-Meier curves per arm (lifelines), each drawn only while at least `min_cell` of its patients
    are at risk (the tail of a curve follows single patients), with the numbers at risk beneath.

    `arms` = (treated label, control label); `treatment` is 1 for treated. Numbers at risk below
    `min_cell` are shown as "<min_cell". Returns the Axes; each arm's line carries its label.
    """
    from lifelines import KaplanMeierFitter
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    ax = _axes(ax, (7.0, 4.6))
    time, event, treatment = np.asarray(time, float), np.asarray(event, int), np.asarray(treatment, int)
    ticks = [x for x in MaxNLocator(6).tick_values(0.0, float(np.max(time))) if 0 <= x <= np.max(time)]
    below = blended_transform_factory(ax.transData, ax.transAxes)
    for row, (arm, label, color) in enumerate(((1, arms[0], "#ca0020"), (0, arms[1], "#2166ac"))):
        t, e = time[treatment == arm], event[treatment == arm]
        fit = KaplanMeierFitter().fit(t, e)
        at_risk = np.array([(t >= x).sum() for x in fit.timeline])
        shown = fit.timeline[at_risk >= min_cell]
        ax.step(
            shown, fit.survival_function_.iloc[: shown.size, 0].to_numpy(), where="post", color=color, lw=1.8, label=str(label)
        )
        y = -0.24 - 0.07 * row
        ax.text(-0.01, y, f"at risk, {label}", transform=ax.transAxes, ha="right", va="center", fontsize=7, color=color,
                parse_math=False)  # fmt: skip
        for x in ticks:
            n = int((t >= x).sum())
            ax.text(x, y, str(n) if n >= min_cell or n == 0 else f"<{min_cell}", transform=below, ha="center", va="center",
                    fontsize=7, color=color)  # fmt: skip
    ax.set_xticks(ticks)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share without the event")
    ax.set_xlabel(f"time{f' ({unit})' if unit else ''}; curves stop where fewer than {min_cell} patients remain at risk")
    ax.set_title("Kaplan-Meier curves by arm")
    ax.legend(fontsize=8, loc="lower left")
    return ax


def shap_direction(bands: dict[str, pd.DataFrame], ax: Axes | None = None, labels: dict[str, str] | None = None) -> Axes:
    """Direction of the top features: each feature's mean SHAP value per value band (`Explanation.dependence`),
    dots shaded from the lowest band (light) to the highest (dark); a dependence plot aggregated to bands of at
    least `report.min_cell` patients, so no patient is drawn."""
    names = list(bands)[::-1]
    ax = _axes(ax, (6.5, max(2.5, 0.45 * len(names) + 1.2)))
    cmap = plt.get_cmap("viridis_r")
    for y, name in enumerate(names):
        table = bands[name]
        if table.empty:
            continue
        shades = np.linspace(0.15, 0.9, len(table)) if len(table) > 1 else np.array([0.5])
        ax.plot(table["mean_shap"], np.full(len(table), y), color="#bbbbbb", lw=1, zorder=1)
        ax.scatter(table["mean_shap"], np.full(len(table), y), c=cmap(shades), s=40, zorder=2, edgecolor="black")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(np.arange(len(names)), [(labels or {}).get(n, str(n)) for n in names], **LITERAL)
    ax.set_xlabel("mean SHAP value per value band (change in estimated effect, effect scale)")
    ax.set_title("Direction: light = lowest values, dark = highest (bands of ≥ min_cell patients)")
    return ax


def genotype_effect(table: pd.DataFrame, feature: str, ate: float, ax: Axes | None = None, min_cell: int = 10) -> Axes:
    """Mean per-patient (calibrated) effect by dosage 0/1/2 of one SNP (`explain.effect_by_genotype`), with the
    number of patients; a dosage held by fewer than `min_cell` patients is drawn as "not shown"."""
    ax = _axes(ax, (4.5, 3.0))
    x = np.arange(len(table))
    shown = table["mean_effect"].map(lambda v: v is not None and np.isfinite(v)).to_numpy()
    means = np.array([v if ok else 0.0 for v, ok in zip(table["mean_effect"], shown, strict=True)], dtype=float)
    ax.bar(x[shown], means[shown], color=FAMILY_COLORS["genetic"], width=0.6)
    ax.axhline(ate, color="black", lw=0.8, ls="--")
    ax.annotate(
        f"average effect {ate:+.3g}",
        (1.0, ate),
        xycoords=("axes fraction", "data"),
        xytext=(-2, 2),
        textcoords="offset points",
        ha="right",
        va="bottom",
        fontsize=7,
    )
    ax.axhline(0, color="black", lw=0.5)
    for i, (n, ok) in enumerate(zip(table["n"], shown, strict=True)):
        text = (f"n = {n}" if isinstance(n, int | np.integer) else f"n {n}") if ok else f"n {n}: not shown"
        ax.annotate(text, (i, means[i] if ok else 0.0), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(x, [str(d) for d in table["dosage"]])
    ax.set_xlabel(f"dosage of {feature} (copies of the minor allele)", **LITERAL)
    ax.set_ylabel("mean per-patient effect (calibrated)")
    ax.set_title(f"Effect by genotype: {feature}", **LITERAL)
    low, high = ax.get_ylim()
    ax.set_ylim(low, high + 0.15 * (high - low))  # room for the counts above the bars
    return ax


def mute(ax: Axes, note: str = "not supported by the data") -> Axes:
    """Grey out a drawn figure (bars and lines grey, points faded, legend removed) and end its title with `note`:
    what it shows is not supported (e.g. importance without detected heterogeneity)."""
    grey = "#b0b0b0"
    for artist in [*ax.patches, *ax.lines]:
        artist.set_color(grey)
    for collection in ax.collections:  # points keep their shading (it encodes a value band), faded
        collection.set_alpha(0.35)
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.set_title(f"{ax.get_title()} ({note})", color="#555555", fontsize=9, **LITERAL)  # no "note: Title: more"
    return ax
