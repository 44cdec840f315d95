"""``run_test(..., observer=)``: the observer sees each pass start and end and can read the
running pass through its view (what ``mlpace run``'s live progress display shows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlpace.clock import VirtualClock
from mlpace.loadgen.engine import run_test
from mlpace.loadgen.enums import TestMode as Mode
from mlpace.loadgen.enums import TestScenario as Scenario
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.simulated import SimulatedSUT
from mlpace.report.progress import LiveProgress, snapshot

MS = 1_000_000


def _logs(tmp_path: Path) -> LogSettings:
    return LogSettings(LogOutputSettings(outdir=str(tmp_path)))


class Watching(SimulatedSUT):
    """A 1 ms simulated SUT that reads the observer's view each time it completes a batch."""

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(clock, MS)
        self.view: Any = None
        self.readings: list[tuple[int, int, int, np.ndarray, np.ndarray]] = []

    def _done(self, batch: list[tuple[int, int]]) -> None:
        super()._done(batch)
        view = self.view
        if view is not None:
            self.readings.append(
                (
                    view.issued_queries(),
                    view.completed_samples(),
                    view.elapsed_ns(),
                    view.recent_latencies_ns(50),
                    view.recent_issue_lag_ns(50),
                )
            )


class Recording:
    def __init__(self, sut: Watching) -> None:
        self.sut = sut
        self.events: list[tuple[str, Any, Any]] = []

    def pass_started(self, view: Any) -> None:
        self.events.append(("started", view, None))
        self.sut.view = view

    def pass_ended(self, view: Any, result: Any) -> None:
        self.events.append(("ended", view, result))
        self.sut.view = None


def test_single_stream_view_reads_exact_latencies(tmp_path: Path) -> None:
    clock = VirtualClock()
    sut = Watching(clock)
    observer = Recording(sut)
    settings = TestSettings(min_duration_ms=200, single_stream_expected_latency_ns=MS)
    outcome = run_test(sut, NullQSL(64), settings, _logs(tmp_path), clock=clock, observer=observer)
    kinds = [e[0] for e in observer.events]
    assert kinds == ["started", "ended"]
    view = observer.events[0][1]
    assert view.scenario == Scenario.SingleStream and view.mode == Mode.PerformanceOnly
    assert view.min_duration_ns == 200 * MS and view.min_query_count == 100
    assert len(sut.readings) == outcome.performance.raw.issued_sample_count  # type: ignore[union-attr]
    for n, (queries, done, elapsed, lat, lag) in enumerate(sut.readings, start=1):
        assert queries == n and done == n and elapsed == n * MS
        assert lat.size == min(n, 50) and (lat == MS).all()  # a 1 ms SUT, no queueing
        assert lag.size == min(n, 50) and (lag == 0).all()  # virtual time: no issue lag
    # At the end the view is frozen: counts stay, the recent windows are empty.
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert view.completed_samples() == view.issued_samples() == raw.issued_sample_count
    assert view.recent_latencies_ns(10).size == 0
    assert observer.events[1][2] is outcome.performance.result  # type: ignore[union-attr]


def test_every_pass_is_observed_and_the_display_reads_the_view(tmp_path: Path) -> None:
    import io

    clock = VirtualClock()
    sut = SimulatedSUT(clock, MS, servers=4)
    stream = io.StringIO()
    live = LiveProgress(stream, rich_display=False, interval_s=3600)
    settings = TestSettings(
        scenario=Scenario.Server,
        mode=Mode.SubmissionRun,
        server_target_qps=500.0,
        min_duration_ms=200,
    )
    outcome = run_test(sut, NullQSL(64), settings, _logs(tmp_path), clock=clock, observer=live)
    lines = stream.getvalue().splitlines()
    assert sum("(end)" in line for line in lines) == 2  # accuracy pass, then performance pass
    assert live.last is not None
    assert live.last.completed_samples == outcome.performance.raw.issued_sample_count  # type: ignore[union-attr]


def test_offline_view_windows_stay_small(tmp_path: Path) -> None:
    clock = VirtualClock()
    readings: list[np.ndarray] = []

    class Obs:
        def pass_started(self, view: Any) -> None:
            clock.call_at(150 * MS, lambda: readings.append(view.recent_latencies_ns(100)))
            clock.call_at(650 * MS, lambda: readings.append(view.recent_latencies_ns(100)))

        def pass_ended(self, view: Any, result: Any) -> None:
            return None

    sut = SimulatedSUT(clock, 100 * MS, batch_size=5_000)
    settings = TestSettings(
        scenario=Scenario.Offline, offline_expected_qps=100_000.0, min_duration_ms=300
    )
    run_test(sut, NullQSL(1024), settings, _logs(tmp_path), clock=clock, observer=Obs())
    # The window is the newest issued samples (here the end of the one 33,000-sample query,
    # not answered yet): bounded however big the query is.
    assert len(readings) == 2 and readings[0].size == 0
    assert readings[1].size <= 100 and (readings[1] >= 100 * MS).all()


def test_a_failing_observer_never_stops_the_run(tmp_path: Path) -> None:
    class Broken:
        def pass_started(self, view: Any) -> None:
            raise RuntimeError("display gone")

        def pass_ended(self, view: Any, result: Any) -> None:
            raise AssertionError("not called after a failed start")

    clock = VirtualClock()
    settings = TestSettings(min_duration_ms=100, single_stream_expected_latency_ns=MS)
    outcome = run_test(
        SimulatedSUT(clock, MS), NullQSL(8), settings, _logs(tmp_path), clock=clock,
        observer=Broken(),
    )  # fmt: skip
    assert outcome.valid
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "run observer failed at pass start (RuntimeError: display gone)" in detail


def test_snapshot_of_the_engine_view_matches_the_protocol(tmp_path: Path) -> None:
    clock = VirtualClock()
    snaps: list[Any] = []

    class Obs:
        def pass_started(self, view: Any) -> None:
            clock.call_at(100 * MS, lambda: snaps.append(snapshot(view)))

        def pass_ended(self, view: Any, result: Any) -> None:
            return None

    sut = SimulatedSUT(clock, MS)
    settings = TestSettings(scenario=Scenario.Server, server_target_qps=1000.0, min_duration_ms=300)
    run_test(sut, NullQSL(64), settings, _logs(tmp_path), clock=clock, observer=Obs())
    (snap,) = snaps
    assert snap.scenario == "Server" and snap.elapsed_s == 0.1
    assert 50 < snap.issued_queries < 150 and snap.p99_ns >= MS and snap.lag_p99_ns == 0
