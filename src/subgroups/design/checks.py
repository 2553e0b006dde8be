"""Parameter checks shared by the design modules and the vocabulary they check against.

The outcome types, alpha-split methods and intersection tests (as ``Literal`` types and as the
tuples of accepted values), one check per kind of parameter (one-sided alpha, power, probability,
positive number, hazard ratio showing benefit) raising :class:`~subgroups.errors.ParameterError`
with one line naming the parameter, the value and what to do, and the rounding up of sizes that
ignores floating-point noise.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Literal

from subgroups.errors import ParameterError

OutcomeType = Literal["continuous", "binary", "time_to_event"]


AlphaSplitMethod = Literal["spiessens_debois", "bonferroni", "common"]


IntersectionTest = Literal["spiessens_debois", "simes", "bonferroni"]


_OUTCOMES = ("continuous", "binary", "time_to_event")


_SPLITS = ("spiessens_debois", "bonferroni", "common")


_INTERSECTIONS = ("spiessens_debois", "simes", "bonferroni")


def _check_alpha(alpha: float, name: str = "alpha") -> None:
    if not (isinstance(alpha, Real) and 0 < alpha < 0.5):
        raise ParameterError(
            f"{name}={alpha!r} is not a one-sided significance level in (0, 0.5); "
            f"pass e.g. {name}=0.025 (one-sided, equivalent to two-sided 0.05)"
        )


def _check_power(power: float, name: str = "power") -> None:
    if not (isinstance(power, Real) and 0 < power < 1):
        raise ParameterError(f"{name}={power!r} is not a probability strictly between 0 and 1; pass e.g. {name}=0.8")


def _check_probability(value: float, name: str, what: str, *, allow_one: bool = False) -> None:
    upper_ok = isinstance(value, Real) and (value <= 1 if allow_one else value < 1)
    if not (upper_ok and value > 0):
        interval = "(0, 1]" if allow_one else "(0, 1)"
        raise ParameterError(f"{name}={value!r} is outside {interval}; pass {what}")


def _check_finite(value: float, name: str, what: str) -> None:
    if isinstance(value, bool) or not (isinstance(value, Real) and math.isfinite(value)):
        raise ParameterError(f"{name}={value!r} is not a finite number; pass {what}")


def _check_count(value: float, name: str, what: str, minimum: int = 0) -> None:
    """A number of patients (or of simulations): a whole number of at least `minimum` (10.0 is accepted, 10.5 is not)."""
    whole = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and float(value).is_integer()
    if not whole or value < minimum:
        raise ParameterError(f"{name}={value!r} is not a whole number of at least {minimum}; pass {what}")


def _check_positive(value: float, name: str, what: str) -> None:
    if not (isinstance(value, Real) and math.isfinite(value) and value > 0):
        raise ParameterError(f"{name}={value!r} must be a positive number; pass {what}")


def _check_target_power(power: float, name: str = "power") -> None:
    """A power to size a trial for: at least 0.5. Below it the normal-approximation formulas stop meaning anything
    (z_alpha + z_beta shrinks towards 0 and then grows again when squared: less power would need more patients)."""
    _check_power(power, name)
    if power < 0.5:
        raise ParameterError(f"{name}={power!r} is below 0.5: a trial is sized for a power of at least 0.5; pass e.g. {name}=0.8")


def _check_sizing(alpha: float, power: float, allocation_ratio: float) -> None:
    """The one-sided level, target power and allocation ratio every sample-size function takes."""
    _check_alpha(alpha)
    _check_target_power(power)
    _check_positive(allocation_ratio, "allocation_ratio", "treated per control patient, e.g. 1")


def _check_hazard_ratio(hazard_ratio: float, name: str = "hazard_ratio") -> None:
    if not (isinstance(hazard_ratio, Real) and 0 < hazard_ratio < 1):
        raise ParameterError(
            f"{name}={hazard_ratio!r} is not a hazard ratio showing benefit; pass a value in (0, 1) "
            "(treatment hazard over control hazard, below 1 = treatment better)"
        )


def _ceil(x: float) -> int:
    """Round up, ignoring floating-point noise of the order of 1e-9 (84.0000000001 -> 84)."""
    return int(math.ceil(x - 1e-9))
