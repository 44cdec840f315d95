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
from typing import Any, Protocol

from mlpace.loadgen.effective import EffectiveSettings, effective_settings
from mlpace.loadgen.scenarios.base import (
    CHUNK,
    MSG_MAX_DURATION,
    MSG_MAX_QUERY_COUNT,
    MSG_TOO_MANY_OUTSTANDING,
    IssueContext,
    PreparedSchedule,
)


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
