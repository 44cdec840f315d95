"""Offline: the whole (pre-generated) query goes to the SUT at once, at the start."""

from __future__ import annotations

from mlpace.loadgen.scenarios.base import IssueContext, PreparedSchedule


class OfflineScenario:
    name = "Offline"

    def issue_all(
        self,
        ctx: IssueContext,
        schedule: PreparedSchedule,
        *,
        first_query: int,
        first_position: int,
        accuracy: bool,
    ) -> None:
        for q0, _, starts, lengths in schedule.chunks():
            for q in range(len(starts)):
                now = ctx.now_ns()
                g = first_query + q0 + q
                ctx.query_scheduled[g] = ctx.start_ns
                ctx.query_issued[g] = now
                ctx.query_length[g] = lengths[q]
                ctx.queries_issued = g + 1
                ctx.issue(first_position + starts[q], lengths[q], now)
