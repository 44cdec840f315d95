"""No watchdog kills a legitimate run: a system under test that is merely slow ends VALID.

Minutes to a first answer are normal (a big Offline batch, an LLM warming up); the stuck-SUT
detection is off unless ``sample_timeout_ms`` is set, and on a virtual clock it fires only when
nothing is left that could complete a sample.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpace.clock import VirtualClock
from mlpace.errors import SutTimeoutError
from mlpace.loadgen.engine import run_test
from mlpace.loadgen.enums import TestScenario as Sc
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.simulated import SimulatedSUT

MS = 1_000_000
MINUTE = 60_000 * MS


def _logs(tmp_path: Path) -> LogSettings:
    return LogSettings(LogOutputSettings(outdir=str(tmp_path)))


class FirstAnswerLate:
    """Service times: the first sample takes ``first_ns``, every later one ``then_ns``."""

    def __init__(self, first_ns: int, then_ns: int) -> None:
        self.first_ns, self.then_ns, self.calls = first_ns, then_ns, 0

    def __call__(self, rng: object) -> int:
        self.calls += 1
        return self.first_ns if self.calls == 1 else self.then_ns


def test_default_settings_have_no_sample_timeout() -> None:
    assert TestSettings().sample_timeout_ms == 0


def test_offline_first_answer_after_ten_minutes_ends_valid(tmp_path: Path) -> None:
    clock = VirtualClock()
    settings = TestSettings(scenario=Sc.Offline, offline_expected_qps=100.0, min_duration_ms=1000)
    sut = SimulatedSUT(clock, 10 * MINUTE + MS, batch_size=1_000_000)
    outcome = run_test(sut, NullQSL(1024), settings, _logs(tmp_path), clock=clock)
    assert outcome.valid
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert int(raw.completed_ns.min()) >= 10 * MINUTE
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    # The long silence is noted (1, 2, 4, 8 minutes), naming the setting, never fatal.
    assert detail.count("none completed for") == 4
    assert "set sample_timeout_ms to give up" in detail


def test_single_stream_slow_first_answer_ends_valid(tmp_path: Path) -> None:
    clock = VirtualClock()
    settings = TestSettings(min_duration_ms=1000, single_stream_expected_latency_ns=MS)
    sut = SimulatedSUT(clock, FirstAnswerLate(10 * MINUTE + MS, MS))
    outcome = run_test(sut, NullQSL(64), settings, _logs(tmp_path), clock=clock)
    assert outcome.valid
    assert outcome.performance.raw.issued_sample_count >= 100  # type: ignore[union-attr]


def test_a_set_sample_timeout_fires_and_is_named(tmp_path: Path) -> None:
    clock = VirtualClock()
    settings = TestSettings(
        scenario=Sc.Offline, offline_expected_qps=100.0, min_duration_ms=1000,
        sample_timeout_ms=5 * 60_000,
    )  # fmt: skip
    sut = SimulatedSUT(clock, 10 * MINUTE, batch_size=1_000_000)
    with pytest.raises(SutTimeoutError, match=r"for 300000 ms \(sample_timeout_ms\)"):
        run_test(sut, NullQSL(1024), settings, _logs(tmp_path), clock=clock)
    assert clock.now_ns() < 10 * MINUTE


def test_a_sample_nothing_can_complete_is_detected_on_a_virtual_clock(tmp_path: Path) -> None:
    class Silent:
        name = "Silent"

        def issue_queries(self, samples: object) -> None:
            return None

        def flush_queries(self) -> None:
            return None

    with pytest.raises(SutTimeoutError, match="nothing is left that could complete") as info:
        run_test(Silent(), NullQSL(8), TestSettings(), _logs(tmp_path), clock=VirtualClock())
    assert info.value.missing_ids == [0]
