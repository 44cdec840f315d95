"""SingleStream: the next query (one sample) is issued when the previous one has completed."""

from __future__ import annotations

from mlpace.loadgen.scenarios.base import IssueContext, PreparedSchedule, sequential_issue


class SingleStreamScenario:
    name = "SingleStream"

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
