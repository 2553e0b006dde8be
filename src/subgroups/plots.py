"""Every figure of the reports: static matplotlib, so they survive HTML export. No patient-level marks."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from subgroups.audit import IMBALANCE, Audit

# Names from the data are drawn as typed: without this, matplotlib reads `$...$` as mathtext (a
# name like `$x^2$` would be typeset, and an invalid one such as `$\foo$` fails the figure).
LITERAL = {"parse_math": False}

FAMILY_COLORS = {"genetic": "#7b3294", "lifestyle": "#008837", "disease": "#ca0020", "other": "#636363"}


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def balance(audit: Audit, ax: Axes | None = None) -> Axes:
    """Standardized differences between arms per feature (level), with the ±0.1 band."""
    table = audit.balance.copy()
    table["label"] = np.where(
        table["level"] == "mean (SD)",
        table["feature"],
        table["feature"] + " " + table["level"].str.replace(", n (%)", "", regex=False),
    )
    table = table.iloc[::-1]
    ax = _axes(ax, (6.5, max(3.0, 0.22 * len(table) + 1)))
    colors = np.where(table["SMD"].abs() > IMBALANCE, "#ca0020", "#404040")
    ax.scatter(table["SMD"], np.arange(len(table)), c=colors, s=18, zorder=3)
    ax.axvspan(-IMBALANCE, IMBALANCE, color="#dddddd", zorder=1)
    ax.axvline(0, color="black", lw=0.8)
    reach = max(0.25, 1.15 * float(table["SMD"].abs().max()))
    ax.set_xlim(-reach, reach)
    ax.set_yticks(np.arange(len(table)), table["label"], fontsize=7, **LITERAL)
    ax.set_xlabel("standardized difference (treated − control)")
    ax.set_title("Baseline balance between arms (grey band: |SMD| ≤ 0.1)")
    return ax


def effect_distribution(cate: np.ndarray, ate: dict, ax: Axes | None = None, calibrated: np.ndarray | None = None) -> Axes:
    """Histogram of cross-fitted per-patient effect estimates, with the average effect and its CI;
    `calibrated` (e.g. `Analysis.calibrate(cate)`) adds the spread the calibration test supports."""
    ax = _axes(ax, (6.5, 3.5))
    bins = np.histogram_bin_edges(cate if calibrated is None else np.concatenate([cate, calibrated]), bins=30)
    ax.hist(cate, bins=bins, color="#92c5de", edgecolor="white", label="model's estimates")
    if calibrated is not None:
        ax.hist(calibrated, bins=bins, histtype="step", color="#053061", lw=1.5, label="calibrated (spread the data support)")
    ax.axvspan(ate["ci_low"], ate["ci_high"], color="#f4a582", alpha=0.5, label=f"average effect, {ate['ci_level']:.0%} CI")
    ax.axvline(ate["estimate"], color="#ca0020", lw=2, label=f"average effect {ate['estimate']:.3g}")
    ax.axvline(0, color="black", lw=0.8, ls="--")
    ax.set_xlabel(f"estimated effect ({ate['scale']}, treated − control)")
    ax.set_ylabel("patients (binned)")
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


def importance(by_feature: pd.Series, family_of: dict[str, str], top: int = 15, ax: Axes | None = None) -> Axes:
    """Mean |SHAP| of the effect model for the `top` features, coloured by family."""
    shown = by_feature.head(top).iloc[::-1]
    ax = _axes(ax, (6.5, max(2.5, 0.3 * len(shown) + 1)))
    colors = [FAMILY_COLORS.get(family_of.get(name, "other"), "#636363") for name in shown.index]
    ax.barh(np.arange(len(shown)), shown.to_numpy(), color=colors)
    ax.set_yticks(np.arange(len(shown)), [str(name) for name in shown.index], **LITERAL)
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
    """Targeting operator characteristic: extra effect among the top-q ranked patients, with CIs."""
    ax = _axes(ax, (6.5, 3.5))
    ax.fill_between(curve["q"], curve["ci_low"], curve["ci_high"], color="#92c5de", alpha=0.6, label="95% pointwise CI")
    ax.plot(curve["q"], curve["toc"], color="#2166ac", marker="o", ms=3, label="TOC(q)")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("share of patients treated, ranked by predicted benefit (q)")
    ax.set_ylabel(f"effect among top q − average effect\n({scale})")
    ax.set_title("Does ranking by predicted benefit find patients who benefit more? (held-out)")
    ax.legend(fontsize=8)
    return ax


def forest(candidates: list[dict], ate: dict, top: int = 12, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Forest plot of subgroup effects (held-out estimates, 95% CI; validated ones adjusted for
    selection) with a line at the average effect."""
    shown = candidates[:top][::-1]
    ax = _axes(ax, (7.5, max(2.5, 0.45 * len(shown) + 1.2)))
    y = np.arange(len(shown))
    # Validated subgroups: the estimate adjusted for having been selected as significant.
    chosen = [c.get("selection_adjusted") or c for c in shown]
    effects = np.array([c["effect"] for c in chosen])
    low = np.array([c["ci_low"] for c in chosen])
    high = np.array([c["ci_high"] for c in chosen])
    colors = ["#ca0020" if c["status"] == "validated" else "#636363" for c in shown]
    ax.hlines(y, low, high, colors=colors, lw=1.5)
    ax.scatter(effects, y, color=colors, zorder=3, s=30)
    ax.axvline(ate["estimate"], color="#2166ac", ls="--", lw=1, label=f"average effect {ate['estimate']:.3g}")
    ax.axvline(0, color="black", lw=0.8)
    labels = [f"{c['rule']}  (n={c['n_treated']}+{c['n_control']}, interaction p_adj={c['p_adjusted']:.2g})" for c in shown]
    ax.set_yticks(y, labels, fontsize=7, **LITERAL)
    adjusted = " (validated: adjusted for selection)" if any(c.get("selection_adjusted") for c in shown) else ""
    ax.set_xlabel(f"effect in the subgroup ({ate['scale']}), estimated on held-out patients{adjusted}")
    ax.set_title(title or "Subgroups (red: validated; grey: exploratory)")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def design_burden(table: pd.DataFrame, recommended: str, ax: Axes | None = None) -> Axes:
    """Randomized and screened patients by design; the recommended design is highlighted."""
    ax = _axes(ax, (7.0, 3.5))
    y = np.arange(len(table))
    names = list(table.index)
    ax.barh(y + 0.2, table["n_screened_expected"], height=0.4, color="#bdbdbd", label="screened (expected)")
    colors = ["#ca0020" if name == recommended else "#4393c3" for name in names]
    ax.barh(y - 0.2, table["n_randomized"], height=0.4, color=colors, label="randomized")
    ax.set_yticks(y, [name.replace("_", " ") + (" (recommended)" if name == recommended else "") for name in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("patients")
    ax.set_title("Next-trial size by design")
    ax.legend(fontsize=8, loc="lower right")
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


def rule_tree(candidates: list[dict], ate: dict, max_children: int = 4, ax: Axes | None = None) -> Axes:
    """The candidate rules as a tree: all patients, then first splits, then their refinements.

    Each box shows the rule's last condition, its held-out effect with CI, prevalence and status
    (red: validated). Rules found in either half appear together; estimates are always from the
    half that did not find them.
    """
    by_rule = {c["rule"]: c for c in candidates}
    first = [c for c in candidates if " and " not in c["rule"]]
    children = {c["rule"]: [d for d in candidates if d["rule"].startswith(c["rule"] + " and ")][:max_children] for c in first}
    width = max(1, sum(max(1, len(kids)) for kids in children.values()))
    ax = _axes(ax, (max(7.0, 1.75 * width), 4.2))
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(0, 3)

    def box(x: float, y: float, label: str, candidate: dict | None) -> None:
        if candidate is None:
            text, color = f"{label}\n{ate['estimate']:+.3g} ({ate['ci_low']:.3g} to {ate['ci_high']:.3g})", "#2166ac"
        else:
            text = (
                f"{label}\n{candidate['effect']:+.3g} ({candidate['ci_low']:.3g} to {candidate['ci_high']:.3g})\n"
                f"{candidate['prevalence']:.0%} of patients, {candidate['status']}"
            )
            color = "#ca0020" if candidate["status"] == "validated" else "#636363"
        ax.text(x, y, text, ha="center", va="center", fontsize=6.5, color=color,
                bbox={"boxstyle": "round,pad=0.4", "fc": "white", "ec": color}, **LITERAL)  # fmt: skip

    box(width / 2, 2.6, "All patients", None)
    left = 0.0
    for parent in first:
        kids = children[parent["rule"]]
        span = max(1, len(kids))
        x = left + span / 2
        ax.plot([width / 2, x], [2.45, 1.75], color="#bdbdbd", lw=1, zorder=0)
        box(x, 1.6, parent["rule"], by_rule[parent["rule"]])
        for i, kid in enumerate(kids):
            kx = left + i + 0.5
            ax.plot([x, kx], [1.42, 0.72], color="#bdbdbd", lw=1, zorder=0)
            box(kx, 0.55, "… and " + kid["rule"][len(parent["rule"]) + 5 :], kid)
        left += span
    ax.set_title(f"Candidate rules (effects on held-out patients, {ate['scale']})", fontsize=9)
    return ax
