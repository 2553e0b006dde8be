"""Multiple testing shared by the heterogeneity claims (`heterogeneity`) and the subgroup hypotheses (`rules`).

Both use the Bonferroni-based graphical sequentially rejective procedure of Bretz, Maurer, Brannath
& Posch (2009, Stat. Med. 28:586): each hypothesis starts with a share of alpha, and a rejected
hypothesis passes its share on along the edges of a graph. It controls the family-wise error rate
at alpha in the strong sense under any dependence between the tests. Holm's procedure is the graph
with equal shares and equal edges; `weighted_holm` is the graph with given shares and edges in
proportion to them.

Estimates reported *because* they were large are corrected for that selection by `selective_estimate`
(the conditional, median-unbiased estimate of a truncated normal).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import optimize, stats

from subgroups.errors import ParameterError


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values (the same numbers as statsmodels' ``multipletests(...,
    method="holm")``, which calls the garbage collector on every use and costs ~0.1 s inside an analysis)."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(p.size)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate((p.size - np.arange(p.size)) * p[order]))
    return adjusted


def graphical_adjusted_p(
    p_values: Sequence[float], weights: np.ndarray, transitions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Adjusted p-values of the graphical procedure (Bretz et al. 2009, algorithm 2), and the share of
    alpha at which each hypothesis is rejected (0 if it can never be).

    Rejecting every hypothesis with adjusted p < alpha controls the family-wise error at alpha; the
    hypothesis rejected at step k was tested at alpha times its weight at that step.
    """
    p = np.asarray(p_values, dtype=float)
    w, G = np.asarray(weights, dtype=float).copy(), np.asarray(transitions, dtype=float).copy()
    active, adjusted, share, running = list(range(p.size)), np.ones(p.size), np.zeros(p.size), 0.0
    while active:
        ratios = [p[i] / w[i] if w[i] > 0 else np.inf for i in active]
        j = active[int(np.argmin(ratios))]
        if not np.isfinite(min(ratios)):
            break  # what is left can never receive alpha
        running = max(running, min(ratios))
        adjusted[j], share[j] = min(1.0, running), w[j]
        active.remove(j)
        new_w, new_G = w.copy(), np.zeros_like(G)
        for i in active:
            new_w[i] = w[i] + w[j] * G[j, i]
            for k in active:
                denominator = 1 - G[i, j] * G[j, i]
                if i != k and denominator > 0:
                    new_G[i, k] = (G[i, k] + G[i, j] * G[j, k]) / denominator
        new_w[j] = 0.0
        w, G = new_w, new_G
    return adjusted, share


def weighted_holm(p_values: Sequence[float], weights: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Holm (Holm 1979): hypothesis i starts with alpha times weights[i] (they sum to at most 1),
    and a rejected hypothesis passes its share to the others in proportion to their initial weights."""
    w = np.asarray(weights, dtype=float)
    m = w.size
    G = np.zeros((m, m))
    for j in range(m):
        others = np.array([w[i] if i != j else 0.0 for i in range(m)])
        if others.sum() > 0:
            G[j] = others / others.sum()
    return graphical_adjusted_p(p_values, w, G)


def selective_estimate(t: float, se: float, low: float, high: float, level: float = 0.95) -> tuple[float, float, float]:
    """Median-unbiased estimate and equal-tailed CI of μ, from T ~ N(μ, se²) reported only because T ≤ low or T ≥ high.

    Inverts the CDF of the truncated normal (Lee, Sun, Sun & Taylor 2016, Ann. Statist.; the
    conditional median-unbiased estimator of Andrews, Kitagawa & McCloskey 2024, QJE): μ̂ solves
    P_μ(T ≤ t | selected) = 1/2, the CI ends solve it at (1 ± level)/2. With low = high (no
    selection) it returns t and t ∓ z·se. Returns (estimate, ci_low, ci_high).
    """
    if not (se > 0 and np.isfinite(t)) or low > high or low < t < high:
        raise ParameterError(
            f"selective_estimate: t={t!r} lies inside the excluded interval ({low!r}, {high!r}) or se={se!r} ≤ 0"
        )
    upper = t >= high  # which side of the excluded interval t lies on

    def log_tail(mu: float) -> float:
        # log P_mu(T beyond t, on t's side | selected)
        a, b, x = (low - mu) / se, (high - mu) / se, (t - mu) / se
        mass = np.logaddexp(stats.norm.logcdf(a), stats.norm.logsf(b))
        return float((stats.norm.logsf(x) if upper else stats.norm.logcdf(x)) - mass)

    span = 40 * se + (high - low)
    bracket = (min(t, low) - span, max(t, high) + span)

    def solve(q: float) -> float:
        # q = P(T ≤ t | selected); on the upper side the tail above t is 1 − q, below it q.
        target = np.log(1 - q) if upper else np.log(q)
        sign = 1.0 if upper else -1.0  # the upper tail grows with mu, the lower tail shrinks
        return float(optimize.brentq(lambda mu: sign * (log_tail(mu) - target), *bracket, xtol=1e-10 * se))

    alpha = 1 - level
    return solve(0.5), solve(1 - alpha / 2), solve(alpha / 2)
