"""Each scenario's policy is chosen once and the shared stages never branch on the scenario name;
durations live once, in ns, in EffectiveSettings."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from mlpace.clock import VirtualClock
from mlpace.loadgen import scenarios
from mlpace.loadgen.effective import effective_settings
from mlpace.loadgen.engine import run_test
from mlpace.loadgen.enums import TestMode as Mode
from mlpace.loadgen.enums import TestScenario as Sc
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.simulated import SimulatedSUT

LOADGEN = Path(scenarios.__file__).resolve().parents[1]
# The stages every scenario shares: they call the policy and never name a scenario.
SHARED_STAGES = [
    "effective.py",
    "schedule.py",
    "results.py",
    "logs/summary.py",
    "logs/session.py",
    "logs/trace.py",
]
MS = 1_000_000


def _scenario_references(path: Path) -> list[str]:
    """``TestScenario.X`` attribute uses and ``scenario ==`` comparisons in ``path``'s code."""
    tree = ast.parse(path.read_text())
    found: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "TestScenario"
        ):
            found.append(f"{path.name}:{node.lineno} TestScenario.{node.attr}")
        if isinstance(node, ast.Compare):
            text = ast.unparse(node)
            if "scenario" in text and any(
                isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)) for op in node.ops
            ):
                found.append(f"{path.name}:{node.lineno} {text}")
    return found


@pytest.mark.parametrize("stage", SHARED_STAGES)
def test_shared_stages_do_not_branch_on_the_scenario(stage: str) -> None:
    assert _scenario_references(LOADGEN / stage) == []


def test_the_guard_sees_a_branch(tmp_path: Path) -> None:
    # The check above is not vacuous: it finds both kinds of branch.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "def f(r, eff):\n    if r.scenario == eff.scenario:\n        return TestScenario.Server\n"
    )
    assert len(_scenario_references(probe)) == 2


@pytest.mark.parametrize("scenario", list(Sc))
def test_one_policy_per_scenario(scenario: Sc) -> None:
    policy = scenarios.policy_for(scenario)
    assert policy.scenario is scenario
    assert policy is scenarios.policy_for(scenario)  # stateless, looked up, not built
    assert scenarios.scenario_for(scenario).name == scenario.value
    eff = effective_settings(
        TestSettings(scenario=scenario), total_sample_count=100, performance_sample_count=10
    )
    assert eff.policy is policy
    assert policy.supports_find_peak() == (scenario is Sc.Server)
    assert policy.measures_first_token == (scenario is not Sc.Offline)


@pytest.mark.parametrize(
    ("scenario", "target_ns", "generation_ns"),
    [
        (Sc.SingleStream, 1_234 * MS, 2 * 1_234 * MS),
        (Sc.MultiStream, 1_234 * MS, 2 * 1_234 * MS),
        (Sc.Server, 1_234 * MS, 1_234 * MS),
        (Sc.Offline, 0, 0),
    ],
)
def test_durations_live_once_in_ns(scenario: Sc, target_ns: int, generation_ns: int) -> None:
    requested = TestSettings(
        scenario=scenario, min_duration_ms=1_234, max_duration_ms=5_000, sample_timeout_ms=7
    )
    eff = effective_settings(requested, total_sample_count=100, performance_sample_count=10)
    assert eff.min_duration_ns == 1_234 * MS and eff.min_duration_ms == 1_234
    assert eff.max_duration_ns == 5_000 * MS and eff.max_duration_ms == 5_000
    assert eff.sample_timeout_ns == 7 * MS and eff.sample_timeout_ms == 7
    assert eff.target_duration_ns == target_ns and eff.target_duration_ms == target_ns // MS
    assert eff.generation_duration_ns == generation_ns
    assert eff.arrival_period_ns == pytest.approx(1e9 / eff.target_qps)


def test_peak_search_logs_every_pass(tmp_path: Path) -> None:
    # Each probe pass ends with power_begin/power_end, even after earlier probes were freed.
    clock = VirtualClock()
    sut = SimulatedSUT(clock, ("exponential", MS), servers=2, seed=3)
    settings = TestSettings(
        scenario=Sc.Server,
        mode=Mode.FindPeakPerformance,
        server_target_qps=200,
        server_target_latency_ns=10 * MS,
        min_duration_ms=200,
        min_query_count=20,
    )
    out = run_test(
        sut,
        NullQSL(64),
        settings,
        LogSettings(LogOutputSettings(outdir=str(tmp_path)), enable_trace=False),
        clock=clock,
    )
    assert len(out.probes) >= 3
    keys = [
        json.loads(line[len(":::MLLOG ") :])["key"]
        for line in (tmp_path / "mlperf_log_detail.txt").read_text().splitlines()
    ]
    assert keys.count("power_begin") == len(out.probes)
    assert keys.count("power_end") == len(out.probes)
