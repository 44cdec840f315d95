"""One module per scenario: its issue loop (behind the small
:class:`~mlpace.loadgen.scenarios.base.Scenario` interface) and its whole policy (behind
:class:`~mlpace.loadgen.scenarios._policy.ScenarioPolicy`). :func:`policy_for` is the one lookup
by scenario name; :func:`scenario_for` gives a fresh issue loop through it."""

from __future__ import annotations

from mlpace.loadgen._recorder import ResponseRecorder
from mlpace.loadgen.enums import TestScenario
from mlpace.loadgen.scenarios import multi_stream, offline, server, single_stream
from mlpace.loadgen.scenarios._policy import ScenarioPolicy
from mlpace.loadgen.scenarios.base import IssueContext, Scenario
from mlpace.loadgen.scenarios.multi_stream import MultiStreamScenario
from mlpace.loadgen.scenarios.offline import OfflineScenario
from mlpace.loadgen.scenarios.server import ServerScenario
from mlpace.loadgen.scenarios.single_stream import SingleStreamScenario

_POLICIES: dict[TestScenario, ScenarioPolicy] = {
    p.scenario: p
    for p in (single_stream.POLICY, multi_stream.POLICY, server.POLICY, offline.POLICY)
}


def policy_for(scenario: TestScenario) -> ScenarioPolicy:
    """The rule set of ``scenario`` (stateless, shared)."""
    return _POLICIES[scenario]


def scenario_for(scenario: TestScenario) -> Scenario:
    """A fresh issue loop for ``scenario``."""
    return policy_for(scenario).issuer()


__all__ = [
    "IssueContext",
    "MultiStreamScenario",
    "OfflineScenario",
    "ResponseRecorder",
    "Scenario",
    "ScenarioPolicy",
    "ServerScenario",
    "SingleStreamScenario",
    "policy_for",
    "scenario_for",
]
