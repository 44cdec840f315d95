"""How many queries a tail-latency percentile needs (the dissertation's Fig. 4.7, Eq. 1-2).

``margin = (1 - p) / 20`` and ``queries = NormsInv((1 - c) / 2)^2 * p (1 - p) / margin^2`` with
c = 0.99, the sample size of an electoral poll over an infinite electorate; MLPerf then rounds
up to a multiple of 2^13 (p90: 23,886 -> 24,576; p95: 50,425 -> 57,344; p99: 262,742 ->
270,336). ``NormsInv`` is Acklam's rational approximation refined by one Halley step on
``math.erfc``, accurate to double precision.
"""

from __future__ import annotations

import math

DEFAULT_CONFIDENCE = 0.99
MARGIN_DIVISOR = 20.0
ROUNDING_MULTIPLE = 2**13

# Acklam's coefficients for the inverse normal CDF.
_A = (
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.3577518672690,
    -30.66479806614716,
    2.506628277459239,
)
_B = (
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
)
_C = (
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
)
_D = (0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416)
_P_LOW = 0.02425


def norms_inv(probability: float) -> float:
    """The standard normal quantile (Excel's ``NORMSINV``) for ``0 < probability < 1``."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be in (0, 1), got {probability}")
    p = probability
    if p < _P_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    elif p <= 1.0 - _P_LOW:
        q = p - 0.5
        r = q * q
        x = (
            (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5])
            * q
            / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)
        )
    else:
        q = math.sqrt(-2.0 * math.log1p(-p))
        x = -(((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0
        )
    # One Halley step on Phi(x) - p brings Acklam's 1e-9 relative error to machine precision.
    if x <= 0.0:
        e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
    else:  # the upper tail in its complementary form keeps its digits
        e = (1.0 - p) - 0.5 * math.erfc(x / math.sqrt(2.0))
    u = e * math.sqrt(2.0 * math.pi) * math.exp(x * x / 2.0)
    return x - u / (1.0 + x * u / 2.0)


def margin(percentile: float) -> float:
    """Eq. 1: one twentieth of the tail above the percentile."""
    return (1.0 - percentile) / MARGIN_DIVISOR


def queries_for_percentile_exact(
    percentile: float, confidence: float = DEFAULT_CONFIDENCE
) -> float:
    """Eq. 2 before rounding."""
    z = norms_inv((1.0 - confidence) / 2.0)
    return z * z * percentile * (1.0 - percentile) / margin(percentile) ** 2


def queries_for_percentile(percentile: float, confidence: float = DEFAULT_CONFIDENCE) -> int:
    """Eq. 2 rounded to the nearest query, as Fig. 4.7 tabulates it (23,886 for p90)."""
    return int(math.floor(queries_for_percentile_exact(percentile, confidence) + 0.5))


def round_up_to_multiple(count: int, multiple: int = ROUNDING_MULTIPLE) -> int:
    """The next multiple of ``multiple`` at or above ``count``."""
    return -(-count // multiple) * multiple


def required_queries(percentile: float, confidence: float = DEFAULT_CONFIDENCE) -> int:
    """Fig. 4.7's "rounded inference": Eq. 2 rounded up to a multiple of 2^13."""
    return round_up_to_multiple(queries_for_percentile(percentile, confidence))
