"""A SUT that breaks the contract never hangs the run, and every log stays readable."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mlpace.clock import MonotonicClock, VirtualClock
from mlpace.errors import RunInterrupted, SutCallbackError, SutTimeoutError
from mlpace.loadgen.engine import run_test
from mlpace.loadgen.enums import TestScenario as Sc
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.simulated import SimulatedSUT

MS = 1_000_000


def logs(tmp_path: Path) -> LogSettings:
    return LogSettings(LogOutputSettings(outdir=str(tmp_path)), enable_trace=True)


def assert_logs_readable(tmp_path: Path) -> str:
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    lines = [ln for ln in detail.splitlines() if ln.strip()]
    assert lines
    for ln in lines:
        assert ln.startswith(":::MLLOG ")
        json.loads(ln[len(":::MLLOG ") :])
    json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    assert (tmp_path / "mlperf_log_summary.txt").read_text().strip()
    return detail


SS = TestSettings(min_duration_ms=200, single_stream_expected_latency_ns=MS)
SERVER = TestSettings(scenario=Sc.Server, server_target_qps=1000.0, min_duration_ms=200)


class Wrapped(SimulatedSUT):
    """A 1 ms simulated SUT whose answers a test can tamper with."""

    def __init__(self, clock: VirtualClock, **kw: Any) -> None:
        super().__init__(clock, MS, **kw)
        self.real_sink: Any = None

    def bind(self, sink: Any) -> None:
        self.real_sink = sink
        super().bind(self)  # answers come back through complete_ids below

    def complete_ids(self, ids: list[int]) -> None:
        self.real_sink.complete_ids(ids)


class UnknownIds(Wrapped):
    def complete_ids(self, ids: list[int]) -> None:
        self.real_sink.complete_ids([*ids, 10_000_000 + ids[0]])


class Duplicates(Wrapped):
    def complete_ids(self, ids: list[int]) -> None:
        self.real_sink.complete_ids(ids)
        self.real_sink.complete_ids(ids)


class Drops(Wrapped):
    def __init__(self, clock: VirtualClock, dropped: int) -> None:
        super().__init__(clock)
        self.dropped = dropped

    def complete_ids(self, ids: list[int]) -> None:
        self.real_sink.complete_ids([i for i in ids if i != self.dropped])


def test_unknown_ids_are_counted_logged_and_ignored(tmp_path: Path) -> None:
    clock = VirtualClock()
    outcome = run_test(UnknownIds(clock), NullQSL(100), SS, logs(tmp_path), clock=clock)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert raw.unknown_id_responses == raw.issued_sample_count == 201
    assert raw.completed_mask.all()
    detail = assert_logs_readable(tmp_path)
    assert "unknown sample id 10000000" in detail


def test_duplicate_completions_are_counted_and_logged(tmp_path: Path) -> None:
    clock = VirtualClock()
    outcome = run_test(Duplicates(clock), NullQSL(100), SERVER, logs(tmp_path), clock=clock)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert raw.duplicate_responses == raw.issued_sample_count
    assert "more than once" in assert_logs_readable(tmp_path)


@pytest.mark.parametrize("settings", [SS, SERVER], ids=["SingleStream", "Server"])
def test_a_sample_that_never_completes_times_out_and_is_named(
    tmp_path: Path, settings: TestSettings
) -> None:
    clock = VirtualClock()
    with pytest.raises(SutTimeoutError) as info:
        run_test(Drops(clock, dropped=5), NullQSL(100), settings, logs(tmp_path), clock=clock)
    assert info.value.missing_ids == [5]
    detail = assert_logs_readable(tmp_path)
    assert "missing sample ids [5]" in detail


def test_timeout_in_real_time_does_not_hang(tmp_path: Path) -> None:
    class Silent:
        name = "Silent"

        def issue_queries(self, samples: Any) -> None:
            return None

        def flush_queries(self) -> None:
            return None

    settings = TestSettings(min_duration_ms=100, sample_timeout_ms=200)
    start = time.monotonic()
    with pytest.raises(SutTimeoutError) as info:
        run_test(Silent(), NullQSL(10), settings, logs(tmp_path), clock=MonotonicClock())
    assert time.monotonic() - start < 5.0
    assert info.value.missing_ids == [0]
    assert_logs_readable(tmp_path)


class RaisesOnIssue(SimulatedSUT):
    def __init__(self, clock: VirtualClock, when: int, exc: BaseException) -> None:
        super().__init__(clock, MS)
        self.when = when
        self.exc = exc

    def issue_query_ids(self, ids: list[int], indices: list[int]) -> None:
        if self.issue_calls == self.when:
            self.issue_calls += 1
            raise self.exc
        super().issue_query_ids(ids, indices)


def test_exception_in_issue_queries_ends_cleanly_invalid(tmp_path: Path) -> None:
    clock = VirtualClock()
    sut = RaisesOnIssue(clock, 50, ValueError("model exploded"))
    with pytest.raises(SutCallbackError, match="model exploded") as info:
        run_test(sut, NullQSL(100), SERVER, logs(tmp_path), clock=clock)
    assert isinstance(info.value.__cause__, ValueError)
    detail = assert_logs_readable(tmp_path)
    assert "issue_queries raised ValueError: model exploded" in detail
    assert "INVALID" in (tmp_path / "mlperf_log_summary.txt").read_text()


def test_ctrl_c_from_the_sut_leaves_readable_logs(tmp_path: Path) -> None:
    clock = VirtualClock()
    sut = RaisesOnIssue(clock, 100, KeyboardInterrupt())
    with pytest.raises(RunInterrupted):
        run_test(sut, NullQSL(100), SS, logs(tmp_path), clock=clock)
    detail = assert_logs_readable(tmp_path)
    assert "interrupted by the user (Ctrl-C)" in detail
    assert "INVALID" in (tmp_path / "mlperf_log_summary.txt").read_text()


class InterruptingClock(VirtualClock):
    """Ctrl-C arrives while the issuer sleeps at 50 ms of virtual time."""

    def sleep_until(self, t_ns: int) -> None:
        if t_ns >= 50 * MS:
            raise KeyboardInterrupt
        super().sleep_until(t_ns)


def test_ctrl_c_while_sleeping_between_server_queries(tmp_path: Path) -> None:
    clock = InterruptingClock()
    with pytest.raises(RunInterrupted):
        run_test(SimulatedSUT(clock, MS), NullQSL(100), SERVER, logs(tmp_path), clock=clock)
    assert "interrupted by the user (Ctrl-C)" in assert_logs_readable(tmp_path)


def test_exception_in_load_samples(tmp_path: Path) -> None:
    class BadQSL(NullQSL):
        def load_samples(self, indices: Any) -> None:
            raise OSError("disk gone")

    clock = VirtualClock()
    with pytest.raises(SutCallbackError, match="load_samples raised OSError: disk gone"):
        run_test(SimulatedSUT(clock, MS), BadQSL(100), SS, logs(tmp_path), clock=clock)
    assert_logs_readable(tmp_path)
