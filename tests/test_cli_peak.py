"""The default run's Server figure (``mlpace.workloads.peak``): the search's retries and the
confirming run's policy, with a fake ``run_pass`` so every decision is deterministic."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpace.loadgen import enums
from mlpace.loadgen.settings import TestSettings
from mlpace.workloads import peak

SERVER = TestSettings(
    scenario=enums.TestScenario.Server, min_duration_ms=4000, server_target_latency_ns=10_000_000
)


@dataclass
class Check:
    name: str
    passed: bool


@dataclass
class FakeResult:
    valid: bool
    checks: list[Check] = field(default_factory=list)


@dataclass
class FakePass:
    result: FakeResult


@dataclass
class FakeOutcome:
    performance: FakePass | None = None
    peak_qps: float | None = None
    probes: tuple[tuple[float, bool], ...] = ()


class Recorder:
    """run_pass(settings, out_dir): answers from a script and records what it was asked."""

    def __init__(self, answers: list[FakeOutcome]) -> None:
        self.answers = answers
        self.asked: list[TestSettings] = []

    def __call__(self, settings: TestSettings, out_dir: Path) -> Any:
        self.asked.append(settings)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "mlperf_log_summary.txt").write_text(f"run {len(self.asked)}\n")
        return self.answers.pop(0)


def _verdict(valid: bool) -> FakeOutcome:
    checks = [] if valid else [Check("early_stopping", False), Check("min_duration", True)]
    return FakeOutcome(performance=FakePass(FakeResult(valid, checks)))


def test_search_uses_find_peak_with_short_probes_and_lowers_a_failing_bound(
    tmp_path: Path,
) -> None:
    fake = Recorder(
        [
            FakeOutcome(peak_qps=None, probes=((800.0, False),)),
            FakeOutcome(peak_qps=1234.0, probes=((200.0, True), (400.0, True))),
        ]
    )
    lines: list[str] = []
    found = peak.search_peak(fake, SERVER, lower_qps=800, log_dir=tmp_path, say=lines.append)
    assert found.peak_qps == 1234.0
    assert [s.server_target_qps for s in fake.asked] == [800.0, 200.0]
    for s in fake.asked:
        assert s.mode is enums.TestMode.FindPeakPerformance
        assert s.min_duration_ms == peak.PROBE_MS
        assert s.server_find_peak_qps_decimals_of_precision == 0
    assert found.probes == ((800.0, False), (200.0, True), (400.0, True))
    assert sum("peak search" in line for line in lines) == 2


def test_search_stops_lowering_when_probes_would_last_too_long(tmp_path: Path) -> None:
    fake = Recorder([FakeOutcome(peak_qps=None, probes=((100.0, False),))] * 3)
    found = peak.search_peak(fake, SERVER, lower_qps=100, log_dir=tmp_path, say=lambda _: None)
    # 25 QPS would need 64 / 25 = 2.6 s per probe, over 4 x 400 ms: no second try
    assert len(fake.asked) == 1
    assert found.peak_qps is None and "no target QPS" in found.note


def test_confirm_runs_at_a_safe_fraction_and_retries_slightly_lower(tmp_path: Path) -> None:
    fake = Recorder([_verdict(False), _verdict(True)])
    out, attempts = tmp_path / "run_1", tmp_path / "attempts"
    outcome, qps, notes = peak.confirm_below_peak(
        fake, SERVER, 10_000.0, out_dir=out, attempts_dir=attempts, say=lambda _: None
    )
    assert outcome.performance.result.valid
    assert [s.server_target_qps for s in fake.asked] == [2500.0, 2000.0]
    assert qps == 2000.0
    assert all(s.min_query_count == peak.CONFIRM_MIN_QUERIES for s in fake.asked)
    assert len(notes) == 1 and "INVALID (early stopping)" in notes[0]
    # the INVALID attempt's logs are kept aside, the folder holds only the VALID run
    kept = attempts / "attempt_1_2500qps" / "mlperf_log_summary.txt"
    assert kept.read_text() == "run 1\n"
    assert (out / "mlperf_log_summary.txt").read_text() == "run 2\n"


def test_confirm_gives_up_after_the_retries(tmp_path: Path) -> None:
    fake = Recorder([_verdict(False)] * (peak.MAX_RETRIES + 1))
    outcome, _, notes = peak.confirm_below_peak(
        fake, SERVER, 10_000.0, out_dir=tmp_path / "o", attempts_dir=tmp_path / "a", say=print
    )
    assert not outcome.performance.result.valid
    assert len(fake.asked) == peak.MAX_RETRIES + 1
    assert len(notes) == peak.MAX_RETRIES


def test_confirm_at_a_low_peak_stays_bounded_in_time(tmp_path: Path) -> None:
    fake = Recorder([_verdict(False)])
    _, qps, notes = peak.confirm_below_peak(
        fake, SERVER, 100.0, out_dir=tmp_path / "o", attempts_dir=tmp_path / "a", say=print
    )
    # 25 QPS x 4 s x 3 = 300 queries at most (not 1200 = 48 s), and no retry: fewer than
    # early stopping's 459 can never be VALID
    assert qps == 25.0
    assert [s.min_query_count for s in fake.asked] == [300]
    assert "cannot hold the 459 queries" in notes[0]
