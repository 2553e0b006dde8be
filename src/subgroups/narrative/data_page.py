"""The data page in words: what was analysed and excluded, balance between the arms, the randomization check and
the no-unmeasured-confounding caveat of observational data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from subgroups.narrative.text import arm_name, display_name, md_code, md_escape, p_text
from subgroups.privacy import SUPPRESSED, count_text

if TYPE_CHECKING:
    from subgroups.audit import Audit


SHOWN_IMBALANCED = 10  # features named in the balance sentence, largest |SMD| first


def _largest_first(audit: Audit, imbalanced: list[str], results: dict[str, Any]) -> str:
    """The imbalanced features by their largest |SMD|, at most `SHOWN_IMBALANCED` named, then how many more."""
    largest = audit.balance.assign(size=audit.balance["SMD"].abs()).groupby("feature")["size"].max()
    ranked = sorted(imbalanced, key=lambda f: -float(largest.get(f, 0.0)))
    named = ", ".join(md_escape(display_name(f, results)) for f in ranked[:SHOWN_IMBALANCED])
    more = len(ranked) - SHOWN_IMBALANCED
    return named + (f" and {more:,} more (every feature in the table below)" if more > 0 else "")


def _by_chance(audit: Audit, results: dict[str, Any]) -> str:
    """How many features randomization alone would put beyond 0.1 SD: a standardized difference of a randomized
    feature is about normal with variance 1/n₁ + 1/n₀, so |SMD| > 0.1 has probability 2Φ(−0.1/√(1/n₁ + 1/n₀))."""
    from scipy.stats import norm

    from subgroups.privacy import count_value

    n1, n0 = count_value(results["data"]["n_treated"]), count_value(results["data"]["n_control"])
    if not n1 or not n0:
        return "randomization alone puts some beyond it"
    share = 2 * norm.sf(0.1 / (1 / n1 + 1 / n0) ** 0.5)
    features = audit.balance["feature"].nunique()
    return f"randomization alone would put about {share:.0%} of features, {share * features:,.0f} of {features:,}, beyond it"


def data_summary(results: dict[str, Any], audit: Audit) -> str:
    data = results["data"]
    lines = [
        f"**Data:** {md_escape(results['provenance']['data_source'])} (sha256 `{results['provenance']['data_sha256'][:16]}…`).",
        f"**Comparison:** {_arm_md('treated', results)} (treated, {count_text(data['n_treated'])} patients) versus "
        f"{_arm_md('control', results)} (control, {count_text(data['n_control'])} patients); {data['study'].upper()} data.",
        f"**Outcome:** {md_code(data['outcome']['name'])} ({data['outcome']['type'].replace('_', '-')}; "
        f"{'higher' if data['outcome']['higher_is_better'] else 'lower'} is better).",
    ]
    if data.get("notes"):
        lines.append("**Notes on the input:** " + "; ".join(md_escape(note) for note in data["notes"]) + ".")
    if data["dropped"]:
        lines.append(
            "**Excluded before analysis:** "
            + "; ".join(f"{_count_words(count)}: {md_escape(why)}" for why, count in data["dropped"].items())
            + "."
        )
    imbalanced = audit.imbalanced
    check = results.get("audit", {}).get("randomization")
    chance = (
        "The randomization check above finds more imbalance than chance allows."
        if check and not check["passed"]
        else "In a randomized trial some imbalance arises by chance; the effect estimates adjust for all features."
        if data["study"] == "rct"
        else "The effect estimates adjust for all features through the propensity and outcome models."
    )
    lines.append(
        "**Balance:** every feature has |standardized difference| ≤ 0.1 between arms."
        if not imbalanced
        else f"**Balance:** {len(imbalanced)} feature(s) differ between arms by more than 0.1 SD"
        + (f" ({_by_chance(audit, results)})" if data["study"] == "rct" else "")
        + ": "
        + _largest_first(audit, imbalanced, results)
        + f". {chance}"
    )
    if check and not check["passed"]:
        lines.insert(0, randomization_sentence(results))  # first: it changes how every later number reads
    elif data["study"] == "observational":
        lines.append(f"**Observational data:** {NO_UNMEASURED_CONFOUNDING}")
    return "\n\n".join(lines)


def _count_words(count: Any) -> str:
    """ "12 patient(s)", "<10 patient(s)", or "a number of patients suppressed" (complementary suppression, subgroups.privacy)."""
    shown = count_text(count)
    return (
        "a number of patients suppressed (to protect a small count beside it)" if shown == SUPPRESSED else f"{shown} patient(s)"
    )


def _arm_md(which: str, results: dict[str, Any]) -> str:
    """An arm in Markdown: its display name, with its value in the data as code when the two differ."""
    name, value = arm_name(which, results), str(results["data"]["arms"][which])
    return md_code(value) if name == value else f"{md_escape(name)} ({md_code(value)})"


NO_UNMEASURED_CONFOUNDING = (
    "every estimate and claim in these reports assumes no unmeasured confounding: that everything which "
    "influenced both the choice of treatment and the outcome is among the features. The data cannot confirm this."
)


def randomization_sentence(results: dict[str, Any]) -> str:
    """The randomization check of a `study: rct` run in words: a warning when the data contradict it."""
    check = results.get("audit", {}).get("randomization")
    if check is None:
        return (
            "Not a randomized trial (`study: observational`): there is no randomization to check; the effects report "
            "shows the estimated propensity of treatment and how well the arms overlap."
        )
    alloc, bal = check["allocation"], check["balance"]
    observed = "" if alloc["observed_share_treated"] is None else f"{alloc['observed_share_treated']:.0%} treated; "
    allocation = (
        f"declared allocation {md_escape(alloc['declared'])} ({md_escape(alloc['declared_by'])}): {observed}"
        f"exact binomial {p_text(alloc['p_value'])}"
    )
    if bal["p_value"] is None:
        balance = "covariate balance: not tested (no feature varies)"
    else:
        test = (
            "F-test of the arm on all features"
            if bal["df"] is not None
            else "permutation test of the mean squared standardized difference over all feature columns (too few "
            f"patients for an F-test): {bal['statistic']:.2g} against {bal['statistic_expected']:.2g} expected by chance,"
        )
        c_stat = (
            "" if bal["c_statistic"] is None else f", cross-fitted c-statistic {bal['c_statistic']:.2f} (0.5 under randomization)"
        )
        balance = f"covariate balance: {test} {p_text(bal['p_value'])}{c_stat}"
    if check["passed"]:
        return (
            f"**Randomization check:** passed ({allocation}; {balance}; it fails below p = {check['threshold']:g}). "
            "The data are consistent with the declared randomization."
        )
    worst = ", ".join(
        f"{md_code(w['feature'] + (' ' + w['level'] if w['level'] else ''))} ({w['smd']:+.2f})" for w in check["worst"][:3]
    )
    return (
        f"**Warning: randomization check failed** (p < {check['threshold']:g}; {allocation}; {balance}). "
        f"Largest standardized differences: {worst}. The arms differ more than a randomized allocation makes them, "
        "so the comparison may be confounded and the average effect is not labelled confirmatory. If treatment was not "
        "assigned at random, analyse the data with `study: observational` (the propensity is then estimated and "
        f"adjusted for); if the allocation ratio was not {md_escape(alloc['declared'])}, declare it as "
        "`data.treatment.allocation`."
    )
