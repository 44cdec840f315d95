"""The live progress display against a fake pass view (no clock, no engine)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pytest

from mlpace.loadgen.enums import TestMode as Mode
from mlpace.loadgen.enums import TestScenario as Scenario
from mlpace.report.progress import LiveProgress, format_line, live_progress, render_rich, snapshot


@dataclass
class FakeView:
    """A pass frozen at one instant; the fields a real PassView exposes."""

    scenario: Scenario = Scenario.Server
    mode: Mode = Mode.PerformanceOnly
    target_qps: float = 1000.0
    min_duration_ns: int = 10_000_000_000
    min_query_count: int = 100
    target_latency_ns: int = 1_000_000
    target_latency_percentile: float = 0.99
    elapsed: int = 2_000_000_000
    issued_q: int = 2000
    issued_s: int = 2000
    done: int = 1990
    latencies: np.ndarray = field(default_factory=lambda: np.arange(1, 1001) * 1000)
    lags: np.ndarray = field(default_factory=lambda: np.full(1000, 5000))
    reads: list[int] = field(default_factory=list)

    def elapsed_ns(self) -> int:
        return self.elapsed

    def issued_queries(self) -> int:
        return self.issued_q

    def issued_samples(self) -> int:
        return self.issued_s

    def completed_samples(self) -> int:
        return self.done

    def recent_latencies_ns(self, max_count: int) -> np.ndarray:
        self.reads.append(max_count)
        return self.latencies[-max_count:].copy()

    def recent_issue_lag_ns(self, max_count: int) -> np.ndarray:
        return self.lags[-max_count:].copy()


def test_server_snapshot() -> None:
    s = snapshot(FakeView())
    assert s.fraction == pytest.approx(0.2)  # 2 s of 10 s; queries already above the minimum
    assert s.eta_s == pytest.approx(8.0)  # the schedule lasts max(10 s, 100 / 1000 QPS)
    assert s.achieved_per_s == pytest.approx(995.0)
    assert (s.p90_ns, s.p99_ns) == (901_000, 991_000)  # sorted[floor(n p)]
    assert s.lag_p99_ns == 5000
    assert s.early_stopping_ok is True  # no latency over 1 ms: 459 queries needed at p99
    assert "2,000 ≥ 459" in s.early_stopping


def test_server_early_stopping_not_yet_with_overlatency() -> None:
    lat = np.full(1000, 500_000)
    lat[:20] = 5_000_000  # 2 % over the bound
    s = snapshot(FakeView(latencies=lat, issued_q=500, done=500))
    assert s.early_stopping_ok is False
    assert s.early_stopping.startswith("not yet: 500 of ") and "~10 over bound" in s.early_stopping


def test_single_stream_eta_and_early_stopping() -> None:
    view = FakeView(
        scenario=Scenario.SingleStream,
        target_latency_percentile=0.9,
        min_query_count=1024,
        issued_q=40,
        elapsed=1_000_000_000,
        min_duration_ns=600_000_000,
    )
    s = snapshot(view)
    assert s.eta_s == pytest.approx((1024 - 40) / 40.0)  # the query count binds, not the time
    assert s.fraction == pytest.approx(40 / 1024)
    assert s.early_stopping == "not yet: 40 of 64 queries" and s.early_stopping_ok is False


def test_offline_and_accuracy() -> None:
    off = snapshot(FakeView(scenario=Scenario.Offline, issued_s=10_000, done=2500))
    assert off.fraction == 0.25 and off.eta_s == pytest.approx(6.0)
    assert off.early_stopping_ok is None
    acc = snapshot(FakeView(mode=Mode.AccuracyOnly))
    assert acc.accuracy and acc.eta_s is None and acc.fraction == 0.0


def test_empty_view_has_no_numbers_yet() -> None:
    s = snapshot(FakeView(elapsed=0, issued_q=0, issued_s=0, done=0, latencies=np.zeros(0),
                          lags=np.zeros(0)))  # fmt: skip
    assert s.achieved_per_s == 0.0 and s.p99_ns != s.p99_ns  # NaN
    assert "p99 –" in format_line(s)


def test_plain_line_and_rich_panel() -> None:
    s = snapshot(FakeView())
    line = format_line(s)
    for part in ("Server performance  20.0%", "2.0/10 s", "queries 2,000/100", "995.0/s",
                 "target 1,000.0", "p99 991.0 µs", "issue lag p99 5.0 µs", "ETA 8 s"):  # fmt: skip
        assert part in line, part
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(render_rich(s))
    text = out.getvalue()
    assert "early stopping" in text and "would pass" in text and "ETA" in text


def test_observer_prints_a_line_at_start_and_end_and_stops_its_thread() -> None:
    stream = io.StringIO()
    live = LiveProgress(stream, rich_display=False, interval_s=3600)
    view = FakeView()
    live.pass_started(view)
    live.pass_ended(view, None)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].endswith("(end)")
    assert live._thread is None
    assert view.reads and max(view.reads) <= 10_000  # bounded copies only
    assert live_progress(quiet=True) is None
    assert isinstance(live_progress(stream=stream), LiveProgress)


def test_rich_observer_renders_to_a_terminal_stream() -> None:
    stream = io.StringIO()
    live = LiveProgress(stream, rich_display=True, interval_s=3600)
    view = FakeView()
    live.pass_started(view)
    live.pass_ended(view, None)
    assert "Server" in stream.getvalue() and "early stopping" in stream.getvalue()


def test_final_line_uses_the_exact_result() -> None:
    from mlpace.loadgen.stats import latency_stats

    @dataclass
    class Lag:
        p99_ns: int = 777

    @dataclass
    class Result:
        latency: object
        has_metrics: bool = True
        issue_lag: Lag = field(default_factory=Lag)

    stream = io.StringIO()
    live = LiveProgress(stream, rich_display=False, interval_s=3600)
    view = FakeView()
    live.pass_started(view)
    view.latencies = np.zeros(0, dtype=np.int64)  # the engine froze the view at the end
    live.pass_ended(view, Result(latency_stats(np.arange(1, 101) * 1000, 0.99)))
    assert live.last is not None
    assert (live.last.p90_ns, live.last.p99_ns, live.last.lag_p99_ns) == (91_000, 100_000, 777)
