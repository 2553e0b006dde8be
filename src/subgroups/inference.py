"""Multiple testing shared by the heterogeneity claims (`heterogeneity`) and the subgroup hypotheses (`rules`).

Both use the Bonferroni-based graphical sequentially rejective procedure of Bretz, Maurer, Brannath
& Posch (2009, Stat. Med. 28:586): each hypothesis starts with a share of alpha, and a rejected
hypothesis passes its share on along the edges of a graph. It controls the family-wise error rate
at alpha in the strong sense under any dependence between the tests. Holm's procedure is the graph
with equal shares and equal edges; `weighted_holm` is the graph with given shares and edges in
proportion to them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
