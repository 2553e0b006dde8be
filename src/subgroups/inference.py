"""Multiple testing shared by the heterogeneity claims (`heterogeneity`) and the subgroup hypotheses (`rules`).

Both use the Bonferroni-based graphical sequentially rejective procedure of Bretz, Maurer, Brannath
& Posch (2009, Stat. Med. 28:586): each hypothesis starts with a share of alpha, and a rejected
hypothesis passes its share on along the edges of a graph. It controls the family-wise error rate
at alpha in the strong sense under any dependence between the tests. Holm's procedure is the graph
with equal shares and equal edges; `weighted_holm` is the graph with given shares and edges in
proportion to them.

Estimates reported *because* they were large are corrected for that selection by `selective_estimate`
(the conditional, median-unbiased estimate of a truncated normal). Disjoint subgroup estimates are
pulled toward their common mean by `shrink_estimates` (normal-normal empirical Bayes, DerSimonian &
Laird 1986), so that neither a reported effect nor a planned trial rests on an optimistic discovery
estimate; `rules` and `design` both use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from subgroups.errors import ParameterError
from subgroups.plain import _plain


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


@dataclass(frozen=True)
class ShrinkageResult:
    """Normal-normal empirical-Bayes shrinkage of subgroup estimates (DerSimonian & Laird 1986).

    Attributes
    ----------
    tau2 : float
        Between-subgroup variance.
    mean : float
        Random-effects mean mu.
    mean_variance : float
        Var(mu) = 1 / sum 1/(v_k + tau2).
    q : float
        Cochran's Q.
    estimates : tuple of float
        Shrunken estimates B_k mu + (1 - B_k) theta_k.
    standard_errors : tuple of float
        Their posterior SDs, sqrt((1 - B_k) v_k + B_k^2 Var(mu)).
    shrinkage : tuple of float
        B_k = v_k / (v_k + tau2) (1 = pulled all the way to mu).
    raw_estimates, raw_standard_errors : tuple of float
        The inputs.
    method : str
        How tau2 was obtained.
    """

    tau2: float
    mean: float
    mean_variance: float
    q: float
    estimates: tuple[float, ...]
    standard_errors: tuple[float, ...]
    shrinkage: tuple[float, ...]
    raw_estimates: tuple[float, ...]
    raw_standard_errors: tuple[float, ...]
    method: str

    def covariance(self) -> np.ndarray:
        """Posterior covariance of the subgroup effects.

        Given mu the effects are independent with variance (1 - B_k) v_k; integrating over
        mu ~ N(mu_hat, Var(mu)) adds B_j B_k Var(mu).
        """
        b = np.asarray(self.shrinkage)
        v = np.asarray(self.raw_standard_errors) ** 2
        return np.diag((1 - b) * v) + np.outer(b, b) * self.mean_variance

    def to_frame(self) -> pd.DataFrame:
        """One row per subgroup: raw and shrunken estimate, SE and shrinkage factor."""
        return pd.DataFrame(
            {
                "raw_estimate": self.raw_estimates,
                "raw_standard_error": self.raw_standard_errors,
                "shrinkage": self.shrinkage,
                "estimate": self.estimates,
                "standard_error": self.standard_errors,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary."""
        return _plain(asdict(self))


def shrink_estimates(
    estimates: Sequence[float],
    standard_errors: Sequence[float],
    *,
    method: Literal["dl", "pm"] = "dl",
    tau2: float | None = None,
) -> ShrinkageResult:
    """Empirical-Bayes shrinkage of disjoint subgroup estimates toward their common mean.

    tau2 comes from statsmodels ``combine_effects`` (DerSimonian-Laird ``"dl"`` or Paule-Mandel
    ``"pm"``) unless given. With two subgroups (S vs Sc) tau2 is barely identified: consider
    passing a sceptical fixed ``tau2``.

    Parameters
    ----------
    estimates : sequence of float
        Effect estimates theta_k, one per disjoint subgroup.
    standard_errors : sequence of float
        Their standard errors.
    method : {"dl", "pm"}
        Estimator of tau2.
    tau2 : float, optional
        Fixed between-subgroup variance instead of an estimate.

    Returns
    -------
    ShrinkageResult

    Examples
    --------
    >>> r = shrink_estimates([0.6, 0.25, 0.1, -0.05], [0.2, 0.15, 0.15, 0.2])
    >>> round(r.estimates[0], 4)
    0.3834
    """
    from statsmodels.stats.meta_analysis import combine_effects

    theta = np.asarray(estimates, dtype=float)
    se = np.asarray(standard_errors, dtype=float)
    if theta.ndim != 1 or theta.shape != se.shape or theta.size < 2:
        raise ParameterError(
            f"estimates has {theta.size} values and standard_errors {se.size}: pass two "
            "equal-length sequences with at least two subgroups"
        )
    if not np.all(np.isfinite(theta)):
        raise ParameterError(f"estimates={theta.tolist()!r} must all be finite numbers; pass each subgroup's estimate")
    if not np.all(np.isfinite(se)) or np.any(se <= 0):
        raise ParameterError(f"standard_errors={se.tolist()!r} must all be positive; pass the SE of each estimate")
    if method not in ("dl", "pm"):
        raise ParameterError(f"method={method!r} is not 'dl' or 'pm'; pick one of them")
    v = se**2
    with np.errstate(invalid="ignore"):  # statsmodels' HKSJ variant (unused here) takes sqrt of negatives
        result = combine_effects(theta, v, method_re=method)
    q = float(result.q)
    if tau2 is None:
        # statsmodels returns the untruncated DerSimonian-Laird moment estimate, which is
        # negative when Q < K - 1; the estimator is max(0, .) (DerSimonian & Laird 1986).
        tau2_value = max(0.0, float(result.tau2))
        how = {"dl": "DerSimonian-Laird", "pm": "Paule-Mandel"}[method]
    else:
        if tau2 < 0:
            raise ParameterError(f"tau2={tau2!r} is negative; pass a variance >= 0 or None")
        tau2_value = float(tau2)
        how = "fixed tau2"
    precision = 1 / (v + tau2_value)
    mu = float(np.sum(precision * theta) / np.sum(precision))
    mu_var = float(1 / np.sum(precision))
    b = v / (v + tau2_value)
    shrunk = b * mu + (1 - b) * theta
    sd = np.sqrt((1 - b) * v + b**2 * mu_var)
    return ShrinkageResult(
        tau2=tau2_value,
        mean=mu,
        mean_variance=mu_var,
        q=q,
        estimates=tuple(float(x) for x in shrunk),
        standard_errors=tuple(float(x) for x in sd),
        shrinkage=tuple(float(x) for x in b),
        raw_estimates=tuple(float(x) for x in theta),
        raw_standard_errors=tuple(float(x) for x in se),
        method=how,
    )
