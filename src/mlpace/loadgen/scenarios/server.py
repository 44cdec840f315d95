"""Server: queries arrive at pre-generated Poisson times and are issued regardless of the SUT.

The issuer sleeps until a query's ideal arrival time (or issues at once if it is late); the
query's scheduled time stays the ideal time, so issue lag counts against the SUT. With
``server_coalesce_queries`` every query already due when the issuer gets to it goes out in the
same issue call. Issuing stops early, with an error, on ``max_async_queries`` outstanding,
``max_query_count`` or ``max_duration``; otherwise the whole schedule is issued.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from mlpace.loadgen.early_stopping import EarlyStoppingResult, server_early_stopping_from_count
from mlpace.loadgen.enums import TestScenario
from mlpace.loadgen.logs.formatting import fixed
from mlpace.loadgen.logs.summary import stats_lines
from mlpace.loadgen.raw import RawRun
from mlpace.loadgen.results import (
    ADVICE_PERF,
    ADVICE_TPOT,
    ADVICE_TTFT,
    Measured,
    RunResult,
    ScenarioRates,
    ValidityCheck,
)
from mlpace.loadgen.scenarios._policy import LoadTargets, SharedPolicy
from mlpace.loadgen.scenarios.base import (
    CHUNK,
    MSG_MAX_DURATION,
    MSG_MAX_QUERY_COUNT,
    MSG_TOO_MANY_OUTSTANDING,
    IssueContext,
    PreparedSchedule,
)
from mlpace.loadgen.schedule import I64, round_up
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.tokens import TokenMetrics, divide

if TYPE_CHECKING:
    # Not at run time: effective.py asks this module for Server's rules.
    from mlpace.loadgen.effective import EffectiveSettings


class ServerScenario:
    name = "Server"

    def issue_all(
        self,
        ctx: IssueContext,
        schedule: PreparedSchedule,
        *,
        first_query: int,
        first_position: int,
        accuracy: bool,
    ) -> None:
        start = ctx.start_ns
        now_ns = ctx.now_ns
        sleep_until = ctx.clock.sleep_until
        rec = ctx.recorder
        q_sched = ctx.query_scheduled
        q_issued = ctx.query_issued
        q_len = ctx.query_length
        issue = ctx.issue
        coalesce = ctx.coalesce
        # Accuracy runs skip every end check but stay paced at the target rate.
        max_async = 0 if accuracy else ctx.max_async_queries
        max_q = 0 if accuracy else ctx.max_query_count
        max_end = 0 if accuracy or ctx.max_duration_ns <= 0 else ctx.start_ns + ctx.max_duration_ns
        # Coalescing looks ahead past the query at hand, so it reads the schedule in one piece.
        size = max(1, schedule.query_count) if coalesce else CHUNK
        for q0, offsets, starts, lengths in schedule.chunks(size):
            n = len(offsets)
            base = first_query + q0
            q = 0
            while q < n:
                t = start + offsets[q]
                now = now_ns()
                if now < t:
                    sleep_until(t)
                    now = now_ns()
                g = base + q
                if max_async and rec.issued - rec.completed >= max_async:
                    ctx.error("error_runtime", MSG_TOO_MANY_OUTSTANDING)
                    ctx.ended_early = True
                    return
                if max_q and g >= max_q:
                    ctx.error("error_runtime", MSG_MAX_QUERY_COUNT)
                    ctx.ended_early = True
                    return
                if max_end and now > max_end:
                    ctx.error("error_runtime", MSG_MAX_DURATION)
                    ctx.ended_early = True
                    return
                if coalesce:
                    j = q + 1
                    while j < n and start + offsets[j] <= now:
                        j += 1
                    if max_q and g + (j - q) > max_q:
                        j = q + (max_q - g)
                    count = 0
                    for r in range(q, j):
                        gr = base + r
                        q_sched[gr] = start + offsets[r]
                        q_issued[gr] = now
                        q_len[gr] = lengths[r]
                        count += lengths[r]
                    ctx.queries_issued = base + j
                    issue(first_position + starts[q], count, now)
                    q = j
                else:
                    q_sched[g] = t
                    q_issued[g] = now
                    length = lengths[q]
                    q_len[g] = length
                    ctx.queries_issued = g + 1
                    issue(first_position + starts[q], length, now)
                    q += 1


# FindPeakPerformance widens the upper bound at most this many times before giving up (a SUT
# with unbounded capacity, e.g. on a virtual clock, would otherwise never fail).
MAX_PEAK_WIDENINGS = 40


class PeakSearchHost(Protocol):
    """What the peak search needs from the engine: run a pass, log, report a failed run."""

    def run_pass(self, effective: EffectiveSettings, *, accuracy: bool) -> Any: ...
    def message(self, text: str) -> None: ...
    def error(self, key: str, text: str) -> None: ...
    @property
    def failure(self) -> Any: ...


def find_peak(
    host: PeakSearchHost, effective: EffectiveSettings
) -> tuple[Any, float | None, tuple[tuple[float, bool], ...]]:
    """Server FindPeakPerformance: widen ×(1+step) until the perf constraint fails, bisect.

    ``host`` runs the probe passes (the engine); returns the best pass, the peak target QPS
    (None when even the lower bound fails or the run failed) and every probe.
    """
    from mlpace.loadgen.effective import effective_settings  # a cycle at import time

    requested = effective.requested
    step = float(requested.server_find_peak_qps_boundary_step_size)
    decimals = int(requested.server_find_peak_qps_decimals_of_precision)
    scale = 10.0**decimals
    probes: list[tuple[float, bool]] = []
    best: Any = None

    def probe(qps: float) -> tuple[Any, bool]:
        eff = effective_settings(
            dataclasses.replace(requested, server_target_qps=qps),
            total_sample_count=int(effective.qsl_total_sample_count),
            performance_sample_count=int(effective.qsl_performance_sample_count),
        )
        outcome = host.run_pass(eff, accuracy=False)
        ok = bool(outcome.result.check("perf_constraints").passed)
        probes.append((qps, ok))
        host.message(
            f"FindPeakPerformance: target_qps {qps:g} "
            f"{'meets' if ok else 'does not meet'} the performance constraint"
        )
        return outcome, ok

    lower = float(requested.server_target_qps)
    outcome, ok = probe(lower)
    if host.failure is not None:
        return outcome, None, tuple(probes)
    if not ok:
        host.error(
            "error_runtime",
            f"FindPeakPerformance: the lower bound target_qps {lower:g} does not meet the "
            "performance constraint; lower server_target_qps",
        )
        return outcome, None, tuple(probes)
    best = outcome
    upper = lower
    for _ in range(MAX_PEAK_WIDENINGS):
        upper = lower * (1.0 + step)
        outcome, ok = probe(upper)
        if host.failure is not None:
            return outcome, None, tuple(probes)
        if not ok:
            break
        lower, best = upper, outcome
    else:
        host.error(
            "error_runtime",
            "FindPeakPerformance: the performance constraint never failed; no upper bound",
        )
        return best, lower, tuple(probes)
    while math.floor(lower * scale) + 1 < math.floor(upper * scale):
        mid = (lower + upper) / 2.0
        outcome, ok = probe(mid)
        if host.failure is not None:
            return outcome, None, tuple(probes)
        if ok:
            lower, best = mid, outcome
        else:
            upper = mid
    host.message(f"FindPeakPerformance: peak target_qps {lower:g}")
    return best, lower, tuple(probes)


# ---------------------------------------------------------------------------- policy
# Poisson gaps are drawn in blocks of this many after the first (estimated) block.
POISSON_BLOCK = 1 << 16


def poisson_arrivals(
    rng: np.random.RandomState,
    mean_gap_ns: float,
    gen_duration_ns: int,
    min_queries: int,
    multiple: int,
) -> I64:
    """Poisson arrivals with mean gap ``mean_gap_ns`` until one is at or past
    ``gen_duration_ns`` and there are at least ``min_queries`` (then up to a multiple of
    ``multiple``, if > 0)."""
    # Arrival k is at the sum of the first k exponential gaps (arrival 0 at 0). Gaps are drawn
    # in blocks from one stream, so the result does not depend on the block size.
    expected = gen_duration_ns / mean_gap_ns if mean_gap_ns > 0 else 0.0
    first_block = int(expected * 1.02 + 6.0 * math.sqrt(expected + 1.0)) + 16
    blocks: list[npt.NDArray[np.float64]] = []
    total = 0
    last = 0.0
    n_needed = -1
    size = max(first_block, min_queries)
    while True:
        gaps = rng.exponential(mean_gap_ns, size=size)
        times = np.cumsum(gaps) + last  # arrival times of queries total+1 .. total+size
        blocks.append(times)
        if n_needed < 0:
            hit = np.searchsorted(times, gen_duration_ns, side="left")
            if gen_duration_ns <= 0:
                n_needed = 1
            elif hit < times.shape[0]:
                n_needed = total + 1 + int(hit) + 1
        total += size
        last = float(times[-1])
        if n_needed >= 0:
            n = max(n_needed, min_queries, 1)
            if multiple > 0:
                n = round_up(n, multiple)
            if total + 1 >= n:
                break
        size = POISSON_BLOCK
    arrivals = np.concatenate([np.zeros(1), *blocks])[:n]
    offsets: I64 = np.floor(arrivals).astype(np.int64)
    return offsets


def _token_performance_check(tokens: TokenMetrics, effective: EffectiveSettings) -> ValidityCheck:
    ttft_p, tpot_p = tokens.ttft.target_ns, tokens.tpot.target_ns
    ok_ttft = ttft_p <= int(effective.ttft_latency_ns)
    ok_tpot = tpot_p <= int(effective.tpot_latency_ns)
    advice = ""
    if not ok_ttft:
        advice = ADVICE_TTFT
    if not ok_tpot:
        advice = ADVICE_TPOT if not advice else advice + "\n * " + ADVICE_TPOT
    observed, required = (
        (ttft_p, int(effective.ttft_latency_ns))
        if not ok_ttft or ok_tpot
        else (tpot_p, int(effective.tpot_latency_ns))
    )
    return ValidityCheck("perf_constraints", ok_ttft and ok_tpot, observed, required, advice, "ns")


class ServerPolicy(SharedPolicy):
    """Server's rules: Poisson arrivals issued regardless of the SUT, latency from the ideal
    arrival time, the latency bound as a performance constraint, completed samples per second
    as the metric, and the FindPeakPerformance search."""

    scenario = TestScenario.Server
    trace_latency_counter = True
    min_duration_advice = "Increase the target QPS so the loadgen pre-generates more queries."

    def issuer(self) -> ServerScenario:
        return ServerScenario()

    def supports_find_peak(self) -> bool:
        return True

    def find_peak(
        self, host: PeakSearchHost, effective: EffectiveSettings
    ) -> tuple[Any, float | None, tuple[tuple[float, bool], ...]]:
        return find_peak(host, effective)

    def load_targets(self, s: TestSettings) -> LoadTargets:
        # A negative rate (logged and replaced by 1 officially) is refused by validation.
        return LoadTargets(
            s.server_target_qps,
            s.server_target_latency_ns,
            s.server_target_latency_percentile,
            s.server_max_async_queries,
        )

    def generation_duration_ns(self, target_duration_ns: int) -> int:
        return target_duration_ns  # the whole list is issued, so no slack

    def requested_log_items(self, s: TestSettings) -> list[tuple[str, object]]:
        return [
            ("requested_server_target_qps", s.server_target_qps),
            ("requested_server_target_latency_ns", s.server_target_latency_ns),
            ("requested_server_target_latency_percentile", s.server_target_latency_percentile),
            ("requested_server_coalesce_queries", s.server_coalesce_queries),
            (
                "requested_server_find_peak_qps_decimals_of_precision",
                s.server_find_peak_qps_decimals_of_precision,
            ),
            (
                "requested_server_find_peak_qps_boundary_step_size",
                s.server_find_peak_qps_boundary_step_size,
            ),
            ("requested_server_max_async_queries", s.server_max_async_queries),
            ("requested_server_num_issue_query_threads", s.server_num_issue_query_threads),
        ]

    def arrivals(
        self,
        rng: np.random.RandomState,
        period_ns: float,
        gen_duration_ns: int,
        min_queries: int,
        multiple: int,
    ) -> I64:
        return poisson_arrivals(rng, period_ns, gen_duration_ns, min_queries, multiple)

    def latency_base_ns(self, raw: RawRun) -> I64:
        return raw.scheduled_ns  # the ideal arrival: issue lag counts against the SUT

    def rates(self, m: Measured, effective: EffectiveSettings) -> ScenarioRates:
        inferred = None
        if effective.infer_token_latencies:
            factor = int(effective.token_latency_scaling_factor)
            inferred = divide((m.sample_count - 1) * factor, m.final_query_done_s)
        return ScenarioRates(
            scheduled_samples_per_second=divide(m.sample_count - 1, m.final_query_scheduled_s),
            completed_samples_per_second=divide(m.sample_count - 1, m.final_query_done_s),
            overlatency_query_count=int(
                np.count_nonzero(m.latency_sorted_ns > m.target_latency_ns)
            ),
            inferred_completed_tokens_per_second=inferred,
        )

    def early_stopping(
        self, values_sorted: I64, threshold_ns: int, m: Measured
    ) -> EarlyStoppingResult:
        # Samples that never completed count as over the bound.
        t = int(np.count_nonzero(values_sorted > threshold_ns)) + m.incomplete_samples
        return server_early_stopping_from_count(t, m.queries, m.target_latency_percentile)

    def performance_check(
        self, m: Measured, effective: EffectiveSettings, tokens: TokenMetrics | None
    ) -> ValidityCheck | None:
        if effective.use_token_latencies:
            assert tokens is not None
            return _token_performance_check(tokens, effective)
        observed, bound = m.latency.target_ns, m.target_latency_ns
        ok = observed <= bound
        return ValidityCheck(
            "perf_constraints", ok, observed, bound, "" if ok else ADVICE_PERF, "ns"
        )

    def duration_ns(self, m: Measured) -> int:
        return m.final_query_scheduled_ns

    def primary_metric(
        self,
        m: Measured,
        rates: ScenarioRates,
        tokens: TokenMetrics | None,
        es_latencies: tuple[int, int],
    ) -> tuple[str, str, float, str]:
        if tokens is not None and tokens.completed_tokens_per_second is not None:
            return (
                "Completed tokens per second",
                "result_completed_tokens_per_second",
                tokens.completed_tokens_per_second,
                "tokens/s",
            )
        return (
            "Completed samples per second",
            "result_completed_samples_per_sec",
            float(rates.completed_samples_per_second or 0.0),
            "samples/s",
        )

    def summary_result_lines(self, r: RunResult, tokens: TokenMetrics | None) -> list[str]:
        lines = [f"Completed samples per second    : {fixed(r.completed_samples_per_second)}"]
        if tokens is not None:
            lines.append(
                f"Completed tokens per second: {fixed(tokens.completed_tokens_per_second)}"
            )
        return lines

    def summary_stats_lines(self, r: RunResult) -> list[str]:
        return [
            f"Scheduled samples per second : {fixed(r.scheduled_samples_per_second)}",
            *stats_lines(r.latency),
        ]

    def summary_token_lines(self, r: RunResult, tokens: TokenMetrics) -> list[str]:
        return [
            "Completed tokens per second                 : "
            f"{fixed(tokens.completed_tokens_per_second)}"
        ]

    def detail_result_items(self, r: RunResult) -> list[tuple[str, object]]:
        return [
            ("result_overlatency_query_count", r.overlatency_query_count),
            ("result_scheduled_samples_per_sec", r.scheduled_samples_per_second),
            ("result_completed_samples_per_sec", r.completed_samples_per_second),
        ]


POLICY = ServerPolicy()
