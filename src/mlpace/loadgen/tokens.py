"""Token metrics of LLM runs (reference §10): TTFT, TPOT, token counts and the error rules.

TTFT = first-token time - the sample's latency base (Server: its scheduled time; SS/MS: its
query's issue time). TPOT = (latency - TTFT) / (n_tokens - 1), integer ns truncated toward
zero, computed with the official arithmetic even for bad token counts: a count of 0, a negative
one or exactly 1 is logged as an error and then counts as 0 tokens, so such a sample's TPOT
divides by -1 (what the official LoadGen records; the run has errors and the checker rejects it).
A sample whose first token never came gets TTFT = its latency (mlpace's choice; officially that
reads an invalid slot).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mlpace.loadgen.raw import LogEvent, RawRun
from mlpace.loadgen.stats import I64, LatencyStats, exact_sum, latency_stats

MSG_ZERO_TOKENS = "n_tokens argument missing or attempted to record 0 as number of tokens"
MSG_NEGATIVE_TOKENS = "Attempted to record a negative number of tokens"
MSG_ONE_TOKEN = "Number of tokens need to be greater than 1"
MSG_BEFORE_FIRST_TOKEN = "Attempted to record a sample latency before it's first token latency"
MSG_FIRST_TOKEN_AFTER = "Attempted to record token latency after sample was completed"
# How many token errors are turned into individual events; the rest are summarised in one.
MAX_TOKEN_ERROR_EVENTS = 20


def counted_tokens(n_tokens: I64) -> I64:
    """The token count each sample contributes: n if n >= 2, else 0 (official rules)."""
    return np.where(n_tokens >= 2, n_tokens, 0).astype(np.int64)


def tpot_ns(latency_ns: I64, ttft_ns: I64, n_tokens: I64) -> I64:
    """Per-sample time per output token, truncated toward zero like C++ integer division."""
    divisor = counted_tokens(n_tokens) - 1  # -1 for every bad count, as officially
    numerator = latency_ns - ttft_ns
    quotient = np.abs(numerator) // np.abs(divisor)
    out: I64 = np.where((numerator >= 0) == (divisor > 0), quotient, -quotient).astype(np.int64)
    return out


def response_error(
    n_tokens: int, *, first_token_ns: int, completed_ns: int, needs_first_token: bool
) -> str | None:
    """The official error text for one completed response, or None if it is fine."""
    if needs_first_token:
        if first_token_ns < 0:
            return MSG_BEFORE_FIRST_TOKEN
        if first_token_ns > completed_ns:
            return MSG_FIRST_TOKEN_AFTER
    if n_tokens == 0:
        return MSG_ZERO_TOKENS
    if n_tokens < 0:
        return MSG_NEGATIVE_TOKENS
    if n_tokens == 1:
        return MSG_ONE_TOKEN
    return None


def token_error_mask(raw: RawRun, *, needs_first_token: bool) -> npt.NDArray[np.bool_]:
    """Completed samples that break a token rule (vectorised :func:`response_error`)."""
    done = raw.completed_ns >= 0
    bad = raw.n_tokens <= 1
    if needs_first_token:
        bad = bad | (raw.first_token_ns < 0) | (raw.first_token_ns > raw.completed_ns)
    return np.asarray(done & bad)


def token_error_events(raw: RawRun, *, needs_first_token: bool) -> tuple[LogEvent, ...]:
    """``error_runtime`` events for bad responses: the first few one by one, then a count."""
    idx = np.flatnonzero(token_error_mask(raw, needs_first_token=needs_first_token))
    events: list[LogEvent] = []
    for i in idx[:MAX_TOKEN_ERROR_EVENTS].tolist():
        text = response_error(
            int(raw.n_tokens[i]),
            first_token_ns=int(raw.first_token_ns[i]),
            completed_ns=int(raw.completed_ns[i]),
            needs_first_token=needs_first_token,
        )
        assert text is not None
        events.append(LogEvent("error_runtime", text, True, int(raw.completed_ns[i])))
    if idx.size > MAX_TOKEN_ERROR_EVENTS:
        rest = int(idx.size) - MAX_TOKEN_ERROR_EVENTS
        events.append(
            LogEvent("error_runtime", f"{rest} more responses broke the token rules", True)
        )
    return tuple(events)


@dataclass(frozen=True)
class TokenMetrics:
    """Token statistics of one performance pass (non-Offline TTFT/TPOT; throughputs)."""

    token_count: int
    ttft: LatencyStats  # empty for Offline
    tpot: LatencyStats  # empty for Offline
    tokens_per_second: float | None  # Offline: token_count / max latency (s)
    completed_tokens_per_second: float | None  # non-Offline: token_count / t_done(final query)
    tps_with_loadgen_overhead: float | None  # non-Offline: token_count / final issue (s)
    tps_without_loadgen_overhead: float | None  # token_count / (mean latency s * samples)
    # The official ``result_token_throughput``: the same ratio with the mean in ns (a known bug).
    token_throughput_as_logged: float | None
    error_count: int = 0


def divide(numerator: float, denominator: float) -> float:
    """IEEE division (x/0 is +-inf, 0/0 nan) as the C++ code gets it."""
    try:
        return numerator / denominator
    except ZeroDivisionError:
        if numerator == 0 or numerator != numerator:
            return float("nan")
        return float("inf") if numerator > 0 else float("-inf")


def token_metrics(
    *,
    latency_ns: I64,
    first_token_ns: I64,
    base_ns: I64,
    n_tokens: I64,
    offline: bool,
    target_percentile: float,
    mean_latency_ns: int,
    final_issue_s: float,
    final_done_s: float,
    max_latency_s: float,
    error_count: int,
) -> tuple[TokenMetrics, I64, I64]:
    """Metrics for the completed samples given (all arrays aligned); also TTFT and TPOT arrays."""
    count = exact_sum(counted_tokens(n_tokens))
    sample_count = int(latency_ns.size)
    if offline:
        empty = np.zeros(0, dtype=np.int64)
        metrics = TokenMetrics(
            token_count=count,
            ttft=LatencyStats.empty(target_percentile),
            tpot=LatencyStats.empty(target_percentile),
            tokens_per_second=divide(count, max_latency_s),
            completed_tokens_per_second=None,
            tps_with_loadgen_overhead=None,
            tps_without_loadgen_overhead=None,
            token_throughput_as_logged=None,
            error_count=error_count,
        )
        return metrics, empty, empty
    ttft = np.where(first_token_ns >= 0, first_token_ns - base_ns, latency_ns).astype(np.int64)
    tpot = tpot_ns(latency_ns, ttft, n_tokens)
    metrics = TokenMetrics(
        token_count=count,
        ttft=latency_stats(ttft, target_percentile),
        tpot=latency_stats(tpot, target_percentile),
        tokens_per_second=None,
        completed_tokens_per_second=divide(count, final_done_s),
        tps_with_loadgen_overhead=divide(count, final_issue_s),
        tps_without_loadgen_overhead=divide(count, mean_latency_ns / 1e9 * sample_count),
        token_throughput_as_logged=divide(count, float(mean_latency_ns) * sample_count),
        error_count=error_count,
    )
    return metrics, ttft, tpot
