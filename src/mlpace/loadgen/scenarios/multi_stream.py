"""MultiStream: a query of ``samples_per_query`` samples, the next one once all have completed.

The query latency (the last sample's completion minus the issue time) is computed from the raw
per-sample records by the results stage; issuing is the same loop as SingleStream.
"""

from __future__ import annotations

from mlpace.loadgen.scenarios.base import IssueContext, PreparedSchedule, sequential_issue


class MultiStreamScenario:
    name = "MultiStream"

    def issue_all(
        self,
        ctx: IssueContext,
        schedule: PreparedSchedule,
        *,
        first_query: int,
        first_position: int,
        accuracy: bool,
    ) -> None:
        sequential_issue(
            ctx, schedule, first_query=first_query, first_position=first_position, accuracy=accuracy
        )
