"""Simulated trials with known treatment-effect heterogeneity (randomized, but for one confounded null).

This module implements the PM-30 covariate generator and the six benchmark scenarios of
``docs/simulation.md``:

* section 2 -- the PM-30 covariates (ten clinical/lifestyle variables through a Gaussian copula,
  twenty SNPs in four LD blocks) and the shared prognostic score ``s(x)``;
* section 4 -- the outcome models of PM-NULL-a, PM-NULL-b, PM-SNP, PM-LIFESEV, PM-TTE and PM-OBS-NULL, with
  their calibrated coefficients, exact 1:1 allocation and (for PM-TTE) the Weibull hazard with
  administrative censoring and dropout.

The scenarios (W = 1 for drug, s = s(x) the prognostic score):

* ``PM-NULL-a``: Y = 0.735 s + 0.304 W + N(0, 1); tau = 0.304.
* ``PM-NULL-b``: P(Y = 1) = 0.15 + 0.6 expit(1.2 s) + 0.124 W; tau_RD = 0.124.
* ``PM-SNP``: Y = 0.735 s + W (b0 + b1 1{snp_01 >= 1}) + N(0, 1); G* = carriers.
* ``PM-LIFESEV``: logit P(Y = 1) = -0.935 + 1.2 s + W (b0 + b1 g(x)),
  g(x) = 1{smoking != current} Phi((severity - 50)/5); G* = {not current, severity > 50}.
* ``PM-TTE``: h(t | x, w) = h0(t) exp(-0.7 s + w beta(x)), H0(t) = (t/40.25)^1.3,
  beta(x) = log HR+ S(x) + log HR- (1 - S(x)), S(x) = 1{snp_01 >= 1} 1{severity >= 40};
  accrual U(0, 18), analysis at month 36, dropout exponential with 5% per year; G* = S(x).
* ``PM-OBS-NULL``: the outcome of PM-NULL-a, but treatment assigned by the covariates (not
  randomized): logit P(W = 1) = c (-0.4 + 1.2 z(severity) + 0.8 z(age) - 0.6 1{smoking = current}),
  c = ``confounding``; the true propensity is in ``extra_truth["propensity"]``.

Every simulated trial carries its truth: the conditional treatment effect ``tau(x)`` on the
scenario's primary scale, the true subgroup ``G*`` and the true predictive and decoy variables.

The covariate generator doubles as the built-in demo data set (``builtin:synthetic``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from subgroups.errors import ParameterError

__all__ = [
    "FEATURES",
    "FEATURE_FAMILIES",
    "PROGNOSTIC_FEATURES",
    "SCENARIOS",
    "SCENARIO_OUTCOME",
    "SNP_MAF",
    "SNP_NAMES",
    "TTE_LEVELS",
    "SimulatedTrial",
    "prognostic_score",
    "simulate_covariates",
    "simulate_trial",
    "tte_truth",
]

# ---------------------------------------------------------------------------------------------
# Public constants
# ---------------------------------------------------------------------------------------------

SCENARIOS: tuple[str, ...] = (
    "PM-NULL-a",
    "PM-NULL-b",
    "PM-SNP",
    "PM-LIFESEV",
    "PM-TTE",
    "PM-OBS-NULL",
)

SCENARIO_OUTCOME: dict[str, str] = {
    "PM-NULL-a": "continuous",
    "PM-NULL-b": "binary",
    "PM-SNP": "continuous",
    "PM-LIFESEV": "binary",
    "PM-TTE": "time_to_event",
    "PM-OBS-NULL": "continuous",
}

#: Default sample sizes (docs/simulation.md §4).
DEFAULT_N: dict[str, int] = {
    "PM-NULL-a": 500,
    "PM-NULL-b": 500,
    "PM-SNP": 500,
    "PM-LIFESEV": 800,
    "PM-TTE": 800,
    "PM-OBS-NULL": 500,
}

#: PM-OBS-NULL: treatment assigned by the covariates, logit P(W = 1) = c (-0.4 + 1.2 z(severity)
#: + 0.8 z(age) - 0.6 1{smoking = current}), z = standardized in the trial; c = 1 (c-statistic about
#: 0.8) or 2 (the coefficients doubled). The outcome is that of PM-NULL-a (a constant effect).
OBS_NULL_COEF: tuple[float, float, float, float] = (-0.4, 1.2, 0.8, -0.6)

SNP_NAMES: list[str] = [f"snp_{j:02d}" for j in range(1, 21)]

#: Clinical/lifestyle variables, in copula order (docs/simulation.md §2).
CLINICAL: list[str] = [
    "age",
    "female",
    "bmi",
    "smoking",
    "activity",
    "alcohol",
    "severity",
    "duration",
    "crp",
    "comorbidities",
]

#: All 30 features, in the column order of :attr:`SimulatedTrial.data`.
FEATURES: list[str] = CLINICAL + SNP_NAMES

FEATURE_FAMILIES: dict[str, list[str]] = {
    "genetic": list(SNP_NAMES),
    "lifestyle": ["smoking", "bmi", "activity", "alcohol"],
    "disease": ["severity", "duration", "crp", "comorbidities"],
    "other": ["age", "female"],
}

#: Variables entering the prognostic score s(x) (docs/simulation.md §2; T_prog of section 4).
PROGNOSTIC_FEATURES: tuple[str, ...] = (
    "severity",
    "age",
    "smoking",
    "bmi",
    "activity",
    "snp_06",
    "comorbidities",
    "female",
)

SMOKING_LEVELS: tuple[str, str, str] = ("never", "former", "current")

#: Minor-allele frequencies of snp_01..snp_20 (docs/simulation.md §2).
SNP_MAF: np.ndarray = np.array(
    [
        0.30, 0.28, 0.15, 0.40, 0.10,
        0.25, 0.35, 0.05, 0.20, 0.45,
        0.12, 0.30, 0.22, 0.38, 0.08,
        0.18, 0.42, 0.27, 0.33, 0.15,
    ]
)  # fmt: skip

#: AR(1) correlation of the haplotype latent variables in each LD block of 5 (docs/simulation.md §2).
SNP_BLOCK_RHO: tuple[float, ...] = (0.95, 0.8, 0.8, 0.8)

#: Latent (copula) correlations; every pair not listed is 0 (docs/simulation.md §2).
_LATENT_CORR: dict[tuple[str, str], float] = {
    ("age", "severity"): 0.25,
    ("age", "duration"): 0.40,
    ("age", "comorbidities"): 0.40,
    ("bmi", "activity"): -0.30,
    ("bmi", "severity"): 0.20,
    ("bmi", "crp"): 0.30,
    ("smoking", "activity"): -0.20,
    ("smoking", "alcohol"): 0.30,
    ("severity", "crp"): 0.40,
    ("severity", "duration"): 0.30,
    ("severity", "comorbidities"): 0.20,
    ("female", "alcohol"): -0.15,
}


def _latent_correlation() -> np.ndarray:
    """Return the 10 x 10 latent correlation matrix R of docs/simulation.md §2."""
    idx = {name: i for i, name in enumerate(CLINICAL)}
    R = np.eye(len(CLINICAL))
    for (a, b), r in _LATENT_CORR.items():
        R[idx[a], idx[b]] = R[idx[b], idx[a]] = r
    return R


LATENT_CORR: np.ndarray = _latent_correlation()
# Cholesky factor; fails loudly if R is not positive definite.
_LATENT_CHOL: np.ndarray = np.linalg.cholesky(LATENT_CORR)

# --- scenario parameters (docs/simulation.md §4) ------------------------------------------------------

#: PM-NULL-a: constant effect on the mean scale.
NULL_A_EFFECT = 0.304
#: PM-NULL-b: constant risk difference.
NULL_B_RD = 0.124
#: PM-SNP (b0, b1) per b1_rel; b1_rel = 0 keeps the b1_rel = 1 ATE as a constant effect.
SNP_COEF: dict[int, tuple[float, float]] = {
    0: (0.213, 0.0),
    1: (0.076, 0.268),
    2: (-0.060, 0.537),
}
#: PM-LIFESEV logit-scale intercept and (b0, b1) per b1_rel.
LIFESEV_INTERCEPT = -0.935
LIFESEV_COEF: dict[int, tuple[float, float]] = {
    0: (0.355, 0.0),
    1: (0.202, 0.673),
    2: (0.032, 1.347),
}
#: PM-TTE hazard ratios (HR+ in S, HR- outside S) per level.
TTE_LEVELS: dict[str, tuple[float, float]] = {
    "L0": (0.80, 0.80),
    "L1": (0.70, 1.05),
    "L2": (0.50, 1.10),
}

# Prognostic scalings of s(x) (docs/simulation.md §2).
PROG_CONTINUOUS = 0.735
PROG_BINARY = 1.2
PROG_TTE = -0.7  # log-hazard; "higher s = better" means lower hazard

# PM-TTE design (docs/simulation.md §4).
WEIBULL_SCALE = 40.25  # months
WEIBULL_SHAPE = 1.3
TTE_T_STAR = 24.0  # months; ΔS(t*) is the primary truth
TTE_RMST_TAU = 30.0  # months; RMST difference over 0-30 months
ACCRUAL_MONTHS = 18.0
ANALYSIS_MONTH = 36.0
#: "Dropout Exp at 5% per year" read as a 5% cumulative dropout probability in 12 months.
DROPOUT_RATE = -np.log(0.95) / 12.0  # per month

_TRUTH_SCALE: dict[str, str] = {
    "continuous": "difference in means",
    "binary": "risk difference",
    "time_to_event": "survival difference at 24 months",
}
_VALID_B1_REL = (0, 1, 2)


# ---------------------------------------------------------------------------------------------
# Result container
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedTrial:
    """One simulated randomized trial together with its known truth.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per patient. Columns, in order: ``patient_id`` (``"P00001"``, ...), ``arm``
        (``"drug"`` / ``"placebo"``), the outcome columns (``response`` for continuous and binary
        outcomes; ``time`` in months and ``event`` 0/1 for time-to-event), then the 30 features of
        :data:`FEATURES`.
    true_effect : numpy.ndarray
        The conditional effect tau(x) per row on the primary truth scale: mu1 - mu0 (continuous),
        p1 - p0 (binary) or S1(24 | x) - S0(24 | x) (time-to-event).
    true_subgroup : numpy.ndarray or None
        Boolean membership of the true subgroup G* per row; ``None`` in null scenarios.
    scenario : str
        One of :data:`SCENARIOS`.
    cell : dict
        The scenario cell, e.g. ``{"b1_rel": 2.0}`` or ``{"level": "L2"}``; empty for nulls.
    truth_scale : str
        Name of the scale of ``true_effect``.
    extra_truth : dict of str to numpy.ndarray
        Further per-row truths: ``"prognostic_score"`` (s(x), all scenarios), ``"link_effect"``
        (binary: logit-scale effect), ``"rmst_diff"`` (TTE, 0-30 months), ``"log_hr"`` (TTE).
    predictive : tuple of str
        The true predictive set T_pred.
    decoys : tuple of str
        The decoy set D.
    prognostic : tuple of str
        The prognostic-only set T_prog (prognostic variables that are not in T_pred).
    """

    data: pd.DataFrame
    true_effect: np.ndarray
    true_subgroup: np.ndarray | None
    scenario: str
    cell: dict
    truth_scale: str
    extra_truth: dict
    predictive: tuple[str, ...]
    decoys: tuple[str, ...]
    prognostic: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------------------------
# Covariates (docs/simulation.md §2)
# ---------------------------------------------------------------------------------------------


def _simulate_snps(n: int, rng: np.random.Generator) -> np.ndarray:
    """Simulate the 20 SNP genotypes (docs/simulation.md §2).

    Four LD blocks of five SNPs. For each of two independent haplotypes, the latent vector of a
    block is AR(1) with correlation rho (0.95 in block 1, 0.8 otherwise); the allele is
    ``1{Z_j < Phi^-1(MAF_j)}`` and the genotype is the sum over both haplotypes.

    Parameters
    ----------
    n : int
        Number of persons.
    rng : numpy.random.Generator
        Random number generator.

    Returns
    -------
    numpy.ndarray
        Integer array of shape ``(n, 20)`` with values in {0, 1, 2}.
    """
    thresholds = stats.norm.ppf(SNP_MAF)
    eps = rng.standard_normal((2, n, len(SNP_NAMES)))
    Z = np.empty_like(eps)
    for b, rho in enumerate(SNP_BLOCK_RHO):
        cols = range(5 * b, 5 * b + 5)
        innov = np.sqrt(1.0 - rho**2)
        for k, j in enumerate(cols):
            if k == 0:
                Z[..., j] = eps[..., j]
            else:  # stationary AR(1): corr(Z_j, Z_l) = rho^|j - l|
                Z[..., j] = rho * Z[..., j - 1] + innov * eps[..., j]
    alleles = Z < thresholds
    return alleles.sum(axis=0).astype(np.int64)


def simulate_covariates(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw n persons from the PM-30 covariate distribution (docs/simulation.md §2).

    Ten clinical/lifestyle variables come from a Gaussian copula Z ~ N(0, R), U = Phi(Z), with
    the latent correlations of docs/simulation.md §2 and these marginals:

    ========== ===================================================================
    age        clip(60 + 10 Z, 18, 85)
    female     1{U < .5}
    bmi        exp(log 27 + .16 Z)
    smoking    "never" if U < .55, "former" if U < .80, else "current"
    activity   Gamma(2, scale 8) quantile of U (MET-h/week)
    alcohol    0 if U < .3, else LogNormal(median 6, sigma .8) quantile of (U - .3)/.7
    severity   100 * Beta(2, 3) quantile of U
    duration   Gamma(2, scale 3) quantile of U (years)
    crp        exp(log 2 + .9 Z) (mg/L)
    comorb.    Poisson(1.2) quantile of U
    ========== ===================================================================

    The twenty SNPs ``snp_01`` ... ``snp_20`` are independent of the clinical block and follow
    the LD-block model of docs/simulation.md §2.

    Parameters
    ----------
    n : int
        Number of persons (>= 1).
    rng : numpy.random.Generator
        Random number generator; the clinical block is drawn first, then the SNPs.

    Returns
    -------
    pandas.DataFrame
        ``n`` rows and the 30 columns of :data:`FEATURES`. ``smoking`` holds strings; ``female``,
        ``comorbidities`` and the SNPs are integers; the rest are floats.
    """
    n = int(n)
    if n < 1:
        raise ParameterError(f"n must be a positive integer, got {n}.")
    Z = rng.standard_normal((n, len(CLINICAL))) @ _LATENT_CHOL.T
    U = stats.norm.cdf(Z)
    # Keep U strictly inside (0, 1) so the quantile functions stay finite.
    U = np.clip(U, 1e-15, 1.0 - 1e-15)
    col = {name: i for i, name in enumerate(CLINICAL)}

    age = np.clip(60.0 + 10.0 * Z[:, col["age"]], 18.0, 85.0)
    female = (U[:, col["female"]] < 0.5).astype(np.int64)
    bmi = np.exp(np.log(27.0) + 0.16 * Z[:, col["bmi"]])
    u_smk = U[:, col["smoking"]]
    smoking_code = np.where(u_smk < 0.55, 0, np.where(u_smk < 0.80, 1, 2))
    smoking = np.asarray(SMOKING_LEVELS, dtype=object)[smoking_code]
    activity = stats.gamma.ppf(U[:, col["activity"]], a=2.0, scale=8.0)
    u_alc = U[:, col["alcohol"]]
    u_alc_pos = np.clip((u_alc - 0.3) / 0.7, 1e-15, 1.0 - 1e-15)
    alcohol = np.where(u_alc < 0.3, 0.0, stats.lognorm.ppf(u_alc_pos, s=0.8, scale=6.0))
    severity = 100.0 * stats.beta.ppf(U[:, col["severity"]], 2.0, 3.0)
    duration = stats.gamma.ppf(U[:, col["duration"]], a=2.0, scale=3.0)
    crp = np.exp(np.log(2.0) + 0.9 * Z[:, col["crp"]])
    comorbidities = stats.poisson.ppf(U[:, col["comorbidities"]], 1.2).astype(np.int64)

    snps = _simulate_snps(n, rng)

    frame: dict[str, Any] = {
        "age": age,
        "female": female,
        "bmi": bmi,
        "smoking": smoking,
        "activity": activity,
        "alcohol": alcohol,
        "severity": severity,
        "duration": duration,
        "crp": crp,
        "comorbidities": comorbidities,
    }
    for j, name in enumerate(SNP_NAMES):
        frame[name] = snps[:, j]
    return pd.DataFrame(frame, columns=FEATURES)


def _smoking_code(smoking: pd.Series | np.ndarray) -> np.ndarray:
    """Map smoking labels (or codes 0/1/2) to integer codes; current <=> 2."""
    values = np.asarray(smoking)
    if values.dtype.kind in "iuf":
        return values.astype(np.int64)
    codes = {label: k for k, label in enumerate(SMOKING_LEVELS)}
    try:
        return np.array([codes[v] for v in values], dtype=np.int64)
    except KeyError as exc:
        raise ParameterError(f"smoking must be one of {', '.join(SMOKING_LEVELS)}; got {exc.args[0]!r}.") from None


def prognostic_score(X: pd.DataFrame) -> np.ndarray:
    """Shared prognostic score s(x), "higher = better" (docs/simulation.md §2).

    ``s(x) = -0.6 (sev - 40)/20 - 0.3 (age - 60)/10 - 0.4 1{smoking = current}
    - 0.3 max(0, (BMI - 30)/5) + 0.25 (activity - 16)/11 + 0.3 snp_06 - 0.2 (comorb - 1.2)
    + 0.2 female``.

    Parameters
    ----------
    X : pandas.DataFrame
        Covariates with at least the columns of :data:`PROGNOSTIC_FEATURES`; ``smoking`` may be
        the labels "never"/"former"/"current" or the codes 0/1/2.

    Returns
    -------
    numpy.ndarray
        s(x) per row (Var(s) is about 0.872 under PM-30).
    """
    current = (_smoking_code(X["smoking"]) == 2).astype(float)
    return (
        -0.6 * (X["severity"].to_numpy(float) - 40.0) / 20.0
        - 0.3 * (X["age"].to_numpy(float) - 60.0) / 10.0
        - 0.4 * current
        - 0.3 * np.maximum(0.0, (X["bmi"].to_numpy(float) - 30.0) / 5.0)
        + 0.25 * (X["activity"].to_numpy(float) - 16.0) / 11.0
        + 0.3 * X["snp_06"].to_numpy(float)
        - 0.2 * (X["comorbidities"].to_numpy(float) - 1.2)
        + 0.2 * X["female"].to_numpy(float)
    )


# ---------------------------------------------------------------------------------------------
# Time-to-event truth (docs/simulation.md §4, PM-TTE)
# ---------------------------------------------------------------------------------------------


def _weibull_cum_hazard(t: np.ndarray | float) -> np.ndarray:
    """Baseline cumulative hazard H0(t) = (t / 40.25)^1.3, t in months."""
    return (np.asarray(t, dtype=float) / WEIBULL_SCALE) ** WEIBULL_SHAPE


def _weibull_rmst(lp: np.ndarray, tau: float) -> np.ndarray:
    """Restricted mean survival time over [0, tau] for S(t) = exp(-H0(t) exp(lp)).

    Integral of exp(-c t^k) over [0, tau] with c = exp(lp) / scale^k, evaluated in closed form as
    ``c^(-1/k) / k * gamma_lower(1/k, c tau^k)`` (vectorised; exact up to floating point).
    """
    k = WEIBULL_SHAPE
    c = np.exp(lp) / WEIBULL_SCALE**k
    a = 1.0 / k
    return c ** (-a) / k * special.gamma(a) * special.gammainc(a, c * tau**k)


def tte_truth(s: np.ndarray, beta: np.ndarray) -> dict[str, np.ndarray]:
    """Per-patient truths of the PM-TTE Weibull model (docs/simulation.md §4).

    With ``S_w(t | x) = exp(-H0(t) exp(-0.7 s(x) + w beta(x)))``:

    Parameters
    ----------
    s : numpy.ndarray
        Prognostic score s(x).
    beta : numpy.ndarray
        Conditional log hazard ratio beta(x) of drug versus placebo.

    Returns
    -------
    dict of str to numpy.ndarray
        ``"surv_diff_24"``: S1(24 | x) - S0(24 | x); ``"rmst_diff"``: RMST1 - RMST0 over 0-30
        months; ``"log_hr"``: beta(x); ``"surv0_24"``: S0(24 | x).
    """
    lp0 = PROG_TTE * np.asarray(s, dtype=float)
    lp1 = lp0 + np.asarray(beta, dtype=float)
    H24 = _weibull_cum_hazard(TTE_T_STAR)
    s0 = np.exp(-H24 * np.exp(lp0))
    s1 = np.exp(-H24 * np.exp(lp1))
    rmst = _weibull_rmst(lp1, TTE_RMST_TAU) - _weibull_rmst(lp0, TTE_RMST_TAU)
    return {
        "surv_diff_24": s1 - s0,
        "rmst_diff": rmst,
        "log_hr": np.asarray(beta, float),
        "surv0_24": s0,
    }


# ---------------------------------------------------------------------------------------------
# Trials (docs/simulation.md §4)
# ---------------------------------------------------------------------------------------------


def _check_b1_rel(b1_rel: float) -> int:
    """Return b1_rel as an int in {0, 1, 2} or raise ParameterError."""
    try:
        value = float(b1_rel)
    except (TypeError, ValueError):
        value = float("nan")
    if value not in _VALID_B1_REL:
        raise ParameterError(f"b1_rel must be one of 0, 1, 2; got {b1_rel!r}.")
    return int(value)


def _allocate(n: int, rng: np.random.Generator) -> np.ndarray:
    """Exact 1:1 allocation: a random permutation of ceil(n/2) drug (1), floor(n/2) placebo (0)."""
    w = np.zeros(n, dtype=np.int64)
    w[: (n + 1) // 2] = 1
    return rng.permutation(w)


def simulate_trial(
    scenario: str = "PM-SNP",
    n: int | None = None,
    seed: int | np.random.SeedSequence | np.random.Generator = 0,
    b1_rel: float = 2.0,
    level: str = "L2",
    confounding: float = 1.0,
) -> SimulatedTrial:
    """Simulate one trial of a benchmark scenario: randomized, except PM-OBS-NULL (docs/simulation.md §4).

    The scenarios' outcome models are listed in the module docstring.

    Parameters
    ----------
    scenario : str
        One of :data:`SCENARIOS`.
    n : int, optional
        Sample size; ``None`` uses the scenario default (500 for PM-NULL-* and PM-SNP, 800 for
        PM-LIFESEV and PM-TTE).
    seed : int, numpy.random.SeedSequence or numpy.random.Generator
        Passed to :func:`numpy.random.default_rng`; the same seed gives identical data.
    b1_rel : {0, 1, 2}
        Interaction strength relative to the calibrated value (PM-SNP and PM-LIFESEV).
    level : {"L0", "L1", "L2"}
        Hazard-ratio level (PM-TTE).
    confounding : float
        Multiplier of the treatment-assignment coefficients (PM-OBS-NULL): 1 or 2.

    Returns
    -------
    SimulatedTrial
        The data and the truth.

    Raises
    ------
    ParameterError
        For an unknown scenario, b1_rel or level, or a sample size below 2.
    """
    if scenario not in SCENARIOS:
        raise ParameterError(f"Unknown scenario {scenario!r}; valid scenarios: {', '.join(SCENARIOS)}.")
    rel = _check_b1_rel(b1_rel)
    if level not in TTE_LEVELS:
        raise ParameterError(f"Unknown level {level!r}; valid levels: {', '.join(TTE_LEVELS)}.")
    if n is None:
        n = DEFAULT_N[scenario]
    if isinstance(n, bool) or not float(n).is_integer() or int(n) < 2:
        raise ParameterError(f"n must be an integer >= 2; got {n!r}.")
    n = int(n)

    rng = np.random.default_rng(seed)
    X = simulate_covariates(n, rng)
    w = _allocate(n, rng)
    s = prognostic_score(X)
    # Each scenario draws its outcome (and PM-OBS-NULL its treatment) from the same stream, after X and w.
    arm = _SCENARIO_ARMS[scenario](X, w, s, rng, rel=rel, level=level, confounding=confounding)
    data = pd.DataFrame(
        {
            "patient_id": [f"P{i:05d}" for i in range(1, n + 1)],
            "arm": np.where(arm.w == 1, "drug", "placebo").astype(object),
            **arm.outcome,
        }
    )
    data = pd.concat([data, X], axis=1)
    return SimulatedTrial(
        data=data,
        true_effect=np.asarray(arm.tau, dtype=float),
        true_subgroup=None if arm.true_subgroup is None else np.asarray(arm.true_subgroup, dtype=bool),
        scenario=scenario,
        cell=arm.cell,
        truth_scale=_TRUTH_SCALE[SCENARIO_OUTCOME[scenario]],
        extra_truth={"prognostic_score": s, **arm.extra},
        predictive=arm.predictive,
        decoys=arm.decoys,
        prognostic=tuple(v for v in PROGNOSTIC_FEATURES if v not in arm.predictive),
    )


@dataclass(frozen=True)
class _Drawn:
    """What one scenario draws after the covariates: treatment, outcome columns and the truth."""

    w: np.ndarray
    tau: np.ndarray
    outcome: dict[str, np.ndarray]
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    true_subgroup: np.ndarray | None = None
    cell: dict = field(default_factory=dict)
    predictive: tuple[str, ...] = ()
    decoys: tuple[str, ...] = ()


def _continuous(s: np.ndarray, tau: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"response": (PROG_CONTINUOUS * s + w * tau + rng.standard_normal(s.size)).astype(float)}


def _binary(p0: np.ndarray, p1: np.ndarray, w: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"response": (rng.random(p0.size) < np.where(w == 1, p1, p0)).astype(np.int64)}


def _draw_obs_null(
    X: pd.DataFrame, w: np.ndarray, s: np.ndarray, rng: np.random.Generator, confounding: float, **_: Any
) -> _Drawn:
    a, b_sev, b_age, b_cur = (confounding * c for c in OBS_NULL_COEF)

    def z(name: str) -> np.ndarray:
        values = X[name].to_numpy(float)
        return (values - values.mean()) / values.std()

    current = (_smoking_code(X["smoking"]) == 2).astype(float)
    propensity = special.expit(a + b_sev * z("severity") + b_age * z("age") + b_cur * current)
    w = (rng.random(s.size) < propensity).astype(np.int64)  # replaces the randomized allocation
    tau = np.full(s.size, NULL_A_EFFECT)
    return _Drawn(w, tau, _continuous(s, tau, w, rng), extra={"propensity": propensity})


def _draw_null_a(X: pd.DataFrame, w: np.ndarray, s: np.ndarray, rng: np.random.Generator, **_: Any) -> _Drawn:
    tau = np.full(s.size, NULL_A_EFFECT)
    return _Drawn(w, tau, _continuous(s, tau, w, rng))


def _draw_null_b(X: pd.DataFrame, w: np.ndarray, s: np.ndarray, rng: np.random.Generator, **_: Any) -> _Drawn:
    p0 = 0.15 + 0.6 * special.expit(PROG_BINARY * s)
    p1 = p0 + NULL_B_RD
    extra = {"link_effect": special.logit(p1) - special.logit(p0)}
    return _Drawn(w, p1 - p0, _binary(p0, p1, w, rng), extra=extra)


def _draw_snp(X: pd.DataFrame, w: np.ndarray, s: np.ndarray, rng: np.random.Generator, rel: int, **_: Any) -> _Drawn:
    b0, b1 = SNP_COEF[rel]
    carrier = X["snp_01"].to_numpy() >= 1
    tau = b0 + b1 * carrier.astype(float)
    return _Drawn(
        w, tau, _continuous(s, tau, w, rng), true_subgroup=carrier, cell={"b1_rel": float(rel)},
        predictive=("snp_01",), decoys=("snp_02", "snp_03"),
    )  # fmt: skip


def _draw_lifesev(X: pd.DataFrame, w: np.ndarray, s: np.ndarray, rng: np.random.Generator, rel: int, **_: Any) -> _Drawn:
    b0, b1 = LIFESEV_COEF[rel]
    severity = X["severity"].to_numpy(float)
    not_current = _smoking_code(X["smoking"]) != 2
    g = not_current * stats.norm.cdf((severity - 50.0) / 5.0)
    eta0 = LIFESEV_INTERCEPT + PROG_BINARY * s
    link = b0 + b1 * g
    p0, p1 = special.expit(eta0), special.expit(eta0 + link)
    return _Drawn(
        w, p1 - p0, _binary(p0, p1, w, rng), extra={"link_effect": link}, true_subgroup=not_current & (severity > 50.0),
        cell={"b1_rel": float(rel)}, predictive=("smoking", "severity"), decoys=("crp", "alcohol", "activity"),
    )  # fmt: skip


def _draw_tte(X: pd.DataFrame, w: np.ndarray, s: np.ndarray, rng: np.random.Generator, level: str, **_: Any) -> _Drawn:
    hr_pos, hr_neg = TTE_LEVELS[level]
    in_s = (X["snp_01"].to_numpy() >= 1) & (X["severity"].to_numpy(float) >= 40.0)
    beta = np.where(in_s, np.log(hr_pos), np.log(hr_neg))
    truth = tte_truth(s, beta)
    # Event time by inversion: H0(T) exp(lp) = E, E ~ Exp(1).
    lp = PROG_TTE * s + w * beta
    e = rng.standard_exponential(s.size)
    t_event = WEIBULL_SCALE * (e * np.exp(-lp)) ** (1.0 / WEIBULL_SHAPE)
    accrual = rng.uniform(0.0, ACCRUAL_MONTHS, s.size)
    dropout = rng.exponential(1.0 / DROPOUT_RATE, s.size)
    censor = np.minimum(ANALYSIS_MONTH - accrual, dropout)
    outcome = {"time": np.minimum(t_event, censor), "event": (t_event <= censor).astype(np.int64)}
    return _Drawn(
        w, truth["surv_diff_24"], outcome, extra={"rmst_diff": truth["rmst_diff"], "log_hr": truth["log_hr"]},
        true_subgroup=in_s, cell={"level": level}, predictive=("snp_01", "severity"), decoys=("snp_02", "crp"),
    )  # fmt: skip


_SCENARIO_ARMS = {
    "PM-OBS-NULL": _draw_obs_null,
    "PM-NULL-a": _draw_null_a,
    "PM-NULL-b": _draw_null_b,
    "PM-SNP": _draw_snp,
    "PM-LIFESEV": _draw_lifesev,
    "PM-TTE": _draw_tte,
}
