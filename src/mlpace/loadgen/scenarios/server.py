"""Server: queries arrive at pre-generated Poisson times and are issued regardless of the SUT.

The issuer sleeps until a query's ideal arrival time (or issues at once if it is late); the
query's scheduled time stays the ideal time, so issue lag counts against the SUT. With
``server_coalesce_queries`` every query already due when the issuer gets to it goes out in the
same issue call. Issuing stops early, with an error, on ``max_async_queries`` outstanding,
``max_query_count`` or ``max_duration``; otherwise the whole schedule is issued.
"""

from __future__ import annotations

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
