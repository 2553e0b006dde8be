"""Normal-normal empirical-Bayes shrinkage of disjoint subgroup estimates toward their common mean
(DerSimonian & Laird 1986), so that the designs are not planned on an optimistic discovery estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from subgroups.design.results import _plain
from subgroups.errors import ParameterError


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
