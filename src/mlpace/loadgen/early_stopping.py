"""Early stopping (reference §9.1): how many queries a tail-latency claim needs.

``H(t)`` is the smallest ``h`` with ``I_p(h, t + 1) < 1 - c``: with ``h + t`` queries of which
``t`` are over the latency bound, the chance of seeing so few overlatency queries if the true
tail rate were ``1 - p`` is below ``1 - c`` (c = 0.99, tolerance 0, both fixed as officially).

``I_p(h, t + 1) = P[Binomial(h + t, 1 - p) <= t]``; we evaluate that binomial CDF in log space
(an exactly anchored term at ``k = t`` from ``math.lgamma`` and the ratio recurrence below it,
summed over the window that holds all non-negligible mass), which stays accurate for ``t`` in
the hundreds of thousands where the official hypergeometric series breaks down. ``H`` is found by
bracketing around ``t * p / (1 - p)`` and bisecting; the SingleStream/MultiStream ``t`` by
bisecting over the monotone ``H(i) + i``. Results are cached.

The texts are the official ones, byte for byte (the summary prints them as they are; the
detail log replaces newlines with spaces).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from mlpace.loadgen.stats import I64, percentile_short_label

CONFIDENCE = 0.99
# Multistream percentile SingleStream also estimates (used to infer MultiStream from it).
SS_SECONDARY_PERCENTILE = 0.99


def log_binomial_cdf(t: int, n: int, p: float) -> float:
    """``log P[X <= t]`` for ``X ~ Binomial(n, 1 - p)`` (``p`` = the "good" probability)."""
    if t < 0:
        return -math.inf
    if t >= n:
        return 0.0
    log_p = math.log(p)
    log_q = math.log1p(-p)
    q = 1.0 - p
    # Exact log pmf at k = t: the largest k summed; every other term follows by recurrence.
    anchor = (
        math.lgamma(n + 1)
        - math.lgamma(t + 1)
        - math.lgamma(n - t + 1)
        + t * log_q
        + (n - t) * log_p
    )
    # Below min(t, mode) the terms fall at least like a Gaussian of width sd; 40 sd further on
    # they are below e^-800 of the largest and cannot change a double.
    sd = math.sqrt(n * p * q)
    mode = int((n + 1) * q)
    lo = max(0, min(t, mode) - int(40.0 * sd) - 50)
    if lo >= t:
        return anchor
    k = np.arange(t, lo, -1, dtype=np.float64)  # step from k to k - 1
    steps = np.log(k) - np.log(float(n) - k + 1.0) + (log_p - log_q)
    logs = np.empty(k.size + 1, dtype=np.float64)
    logs[0] = 0.0
    np.cumsum(steps, out=logs[1:])
    logs += anchor
    top = float(logs.max())
    return top + math.log(float(np.exp(logs - top).sum()))


def odds(h: int, t: int, p: float) -> float:
    """``I_p(h, t + 1)``: the chance of at most ``t`` overlatency queries among ``h + t``."""
    return math.exp(log_binomial_cdf(t, h + t, p))


def _passes(h: int, t: int, p: float, log_limit: float) -> bool:
    return log_binomial_cdf(t, h + t, p) < log_limit


@functools.lru_cache(maxsize=1 << 16)
def min_passing_queries(t: int, percentile: float, confidence: float = CONFIDENCE) -> int:
    """``H(t)``: the smallest ``h`` with ``I_p(h, t + 1) < 1 - c`` (strict, as officially)."""
    if t < 0:
        raise ValueError(f"the overlatency count must be >= 0, got {t}")
    if not 0.0 < percentile < 1.0:
        raise ValueError(f"the percentile must be in (0, 1), got {percentile}")
    log_limit = math.log(1.0 - confidence)
    q = 1.0 - percentile
    # With h = t p / q the binomial's mean sits at t, so the CDF is about 1/2: not passing.
    lo = max(1, int(t * percentile / q))
    if _passes(lo, t, percentile, log_limit):
        lo = 0  # h = 0 never passes (I_p(0, .) = 1); bisect from the bottom
    step = max(8, int((3.0 * math.sqrt(t + 1.0) + 5.0) / q))
    hi = lo + step
    while not _passes(hi, t, percentile, log_limit):
        lo = hi
        step *= 2
        hi = lo + step
    # Invariant: lo fails (or is 0), hi passes.
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _passes(mid, t, percentile, log_limit):
            hi = mid
        else:
            lo = mid
    return hi


def queries_needed(t: int, percentile: float) -> int:
    """``H(t) + t``: the total queries a run with ``t`` overlatency queries needs."""
    return min_passing_queries(t, percentile) + t


def largest_t(n: int, percentile: float) -> int:
    """SingleStream/MultiStream: the largest ``i >= 1`` with ``n >= H(i) + i`` (0 if none)."""
    if n < queries_needed(1, percentile):
        return 0
    lo = 1  # satisfies
    hi = max(2, int(n * (1.0 - percentile)) + 1)
    while queries_needed(hi, percentile) <= n:
        lo = hi
        hi *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if queries_needed(mid, percentile) <= n:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class EarlyStoppingResult:
    """One early-stopping evaluation: verdict, official text and the numbers behind it."""

    passed: bool
    text: str  # as the summary prints it (lines start with " * ")
    queries: int  # queries the rule looked at
    queries_required: int  # H(t) + t (Server) or H(1) + 1 (SS/MS)
    overlatency_count: int = 0  # Server: t; SS/MS: the t used for the estimate
    estimate_ns: int | None = None  # SS/MS percentile estimate
    secondary_estimate_ns: int | None = None  # SS: the 99th-percentile estimate

    @property
    def detail_text(self) -> str:
        """The detail log's one-line form (newlines become spaces, as officially)."""
        return self.text.replace("\n", " ")


def server_early_stopping(
    latencies_ns: I64, queries_issued: int, threshold_ns: int, percentile: float
) -> EarlyStoppingResult:
    """Server rule: pass iff ``queries_issued >= H(t) + t``, t = #latencies above threshold."""
    t = int(np.count_nonzero(latencies_ns > threshold_ns))
    return server_early_stopping_from_count(t, queries_issued, percentile)


def server_early_stopping_from_count(
    overlatency: int, queries_issued: int, percentile: float
) -> EarlyStoppingResult:
    needed = queries_needed(overlatency, percentile)
    if queries_issued >= needed:
        return EarlyStoppingResult(True, " * Run successful.", queries_issued, needed, overlatency)
    text = (
        f" * Run unsuccessful.\n * Processed {queries_issued} queries.\n"
        f" * Would need to run at least {needed - queries_issued} more queries,\n"
        " with the run being successful if every additional\n query were under latency."
    )
    return EarlyStoppingResult(False, text, queries_issued, needed, overlatency)


def _estimate(sorted_ns: I64, n: int, percentile: float) -> tuple[int, int, int] | None:
    """(t, estimate, H(1)+1) or None when fewer than H(1)+1 values."""
    minimum = queries_needed(1, percentile)
    if n < minimum:
        return None
    t = largest_t(n, percentile)
    return t, int(sorted_ns[n - t]), minimum


def percentile_early_stopping(
    sorted_ns: I64, queries_issued: int, percentile: float, *, single_stream: bool
) -> EarlyStoppingResult:
    """SingleStream/MultiStream rule on ascending latencies (MS: per-query latencies).

    The estimate is ``sorted[n - t]``; SingleStream also reports a 99th-percentile estimate
    (which never fails the run).
    """
    n = min(int(queries_issued), int(sorted_ns.size))
    main = _estimate(sorted_ns, n, percentile)
    if main is None:
        minimum = queries_needed(1, percentile)
        text = (
            f" * Only processed {n} queries.\n"
            f" * Need to process at least {minimum} queries for early stopping."
        )
        return EarlyStoppingResult(False, text, n, minimum)
    t, estimate, minimum = main
    text = (
        f" * Processed at least {minimum} queries ({n}).\n"
        f" * Would discard {t - 1} highest latency queries.\n"
        f" * Early stopping {percentile_short_label(percentile)}th percentile estimate: "
        f"{estimate}"
    )
    secondary: int | None = None
    if single_stream:
        p2 = SS_SECONDARY_PERCENTILE
        label = percentile_short_label(p2)
        second = _estimate(sorted_ns, n, p2)
        if second is None:
            text += (
                f"\n * Not enough queries processed for {label}th percentile\n"
                " early stopping estimate (would need to process at\n"
                f" least {queries_needed(1, p2)} total queries)."
            )
        else:
            secondary = second[1]
            text += f"\n * Early stopping {label}th percentile estimate: {secondary}"
    return EarlyStoppingResult(True, text, n, minimum, t, estimate, secondary)
