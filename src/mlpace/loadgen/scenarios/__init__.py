"""One module per scenario behind the small :class:`~mlpace.loadgen.scenarios.base.Scenario`
interface; :func:`scenario_for` picks one."""

from __future__ import annotations

from mlpace.loadgen._recorder import ResponseRecorder
from mlpace.loadgen.enums import TestScenario
from mlpace.loadgen.scenarios.base import IssueContext, Scenario
from mlpace.loadgen.scenarios.multi_stream import MultiStreamScenario
from mlpace.loadgen.scenarios.offline import OfflineScenario
from mlpace.loadgen.scenarios.server import ServerScenario
from mlpace.loadgen.scenarios.single_stream import SingleStreamScenario


def scenario_for(scenario: TestScenario) -> Scenario:
    """A fresh issue loop for ``scenario``."""
    if scenario == TestScenario.SingleStream:
        return SingleStreamScenario()
    if scenario == TestScenario.MultiStream:
        return MultiStreamScenario()
    if scenario == TestScenario.Server:
        return ServerScenario()
    return OfflineScenario()


__all__ = ["IssueContext", "ResponseRecorder", "Scenario", "scenario_for"]
