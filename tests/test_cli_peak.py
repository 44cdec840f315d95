"""The default run's Server figure (``mlpace.workloads.peak``): the search's retries, the
repeated search, and the attempts from the peak down, with a fake ``run_pass`` (and a fake
clock) so every decision is deterministic."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cli_helpers import check_logs
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
    required: int = 0


@dataclass
class FakeLag:
    p99_ns: int = 1_000_000


@dataclass
class FakeResult:
    valid: bool
    checks: list[Check] = field(default_factory=list)
    queries_issued: int = 40_000
    target_latency_ns: int = 10_000_000
    issue_lag: FakeLag = field(default_factory=FakeLag)


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


def _verdict(*failed: str, lag_ms: float = 1.0, required: int = 500) -> FakeOutcome:
    names = ("perf_constraints", "min_duration", "min_queries", "early_stopping")
    checks = [Check(n, n not in failed, required if n == "early_stopping" else 0) for n in names]
    lag = FakeLag(int(lag_ms * 1e6))
    return FakeOutcome(performance=FakePass(FakeResult(not failed, checks, issue_lag=lag)))


class FakeClock:
    """Each run_pass takes 4.5 s; a sleep takes what it says."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


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
    assert found.log_dir == tmp_path  # without try_dirs every try writes there
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


def test_each_search_try_keeps_its_own_logs(tmp_path: Path) -> None:
    fake = Recorder(
        [
            FakeOutcome(peak_qps=None, probes=((800.0, False),)),
            FakeOutcome(peak_qps=900.0, probes=((200.0, True),)),
        ]
    )
    found = peak.search_peak(
        fake,
        SERVER,
        lower_qps=800,
        log_dir=tmp_path / "unused",
        say=lambda _: None,
        try_dirs=lambda k: tmp_path / f"try_{k}",
    )
    assert found.log_dir == tmp_path / "try_2"
    assert (tmp_path / "try_1" / "mlperf_log_summary.txt").read_text() == "run 1\n"
    assert (tmp_path / "try_2" / "mlperf_log_summary.txt").read_text() == "run 2\n"


def test_a_low_peak_is_searched_once_more_and_the_higher_counts(tmp_path: Path) -> None:
    fake = Recorder(
        [
            FakeOutcome(peak_qps=4_000.0, probes=((200.0, True),)),
            FakeOutcome(peak_qps=9_000.0, probes=((200.0, True),)),
        ]
    )
    gated: list[str] = []
    lines: list[str] = []
    found = peak.find_peak(
        fake,
        SERVER,
        lower_qps=200,
        estimate_qps=10_000,
        peak_dir=tmp_path,
        say=lines.append,
        gate=gated.append,
    )
    assert (found.peak_qps, found.index, len(found.searches)) == (9_000.0, 2, 2)
    assert gated == ["Server peak search", "Server peak search 2"]
    assert "search 1 found a peak of 4,000.0 QPS, below half" in found.notes[0]
    assert "10,000 QPS" in found.notes[0] and "search 2 of 2 gave the higher peak" in found.notes[1]
    assert any("Server peak search 2 (FindPeakPerformance" in line for line in lines)
    for n in (1, 2):  # nothing overwritten
        assert (tmp_path / f"search_{n}" / "mlperf_log_summary.txt").read_text() == f"run {n}\n"


def test_a_peak_near_the_estimate_is_searched_once(tmp_path: Path) -> None:
    fake = Recorder([FakeOutcome(peak_qps=6_000.0, probes=((200.0, True),))])
    found = peak.find_peak(
        fake, SERVER, lower_qps=200, estimate_qps=10_000, peak_dir=tmp_path, say=print
    )
    assert (found.peak_qps, found.index, found.notes) == (6_000.0, 1, ())


class FakeMeter:
    """Other work during each attempt, from a script (cores)."""

    def __init__(self, others: list[float | None]) -> None:
        self.others = others
        self.started = 0

    def start(self) -> None:
        self.started += 1

    def stop(self) -> float | None:
        return self.others.pop(0)


def _measure(
    fake: Recorder,
    tmp_path: Path,
    clock: FakeClock,
    peak_qps: float = 10_000.0,
    meter: FakeMeter | None = None,
    gate: Any = None,
) -> Any:
    def timed(settings: TestSettings, out_dir: Path) -> Any:
        clock.now += 4.5
        return fake(settings, out_dir)

    lines: list[str] = []
    figure = peak.measure_at_peak(
        timed,
        SERVER,
        peak_qps,
        out_dir=tmp_path / "run_1",
        attempts_dir=tmp_path / "peak",
        say=lines.append,
        clock=clock,
        sleep=clock.sleep,
        meter=meter,
        **({} if gate is None else {"gate": gate}),
    )
    return figure, lines


def test_the_first_attempt_at_the_peak_is_the_figure_when_valid(tmp_path: Path) -> None:
    fake = Recorder([_verdict()])
    figure, lines = _measure(fake, tmp_path, FakeClock())
    assert (figure.valid, figure.attempt, figure.qps) == (True, 1, 10_000.0)
    assert fake.asked[0].server_target_qps == 10_000.0
    assert fake.asked[0].min_query_count == 1200
    assert "comes from attempt 1 (1 in all)" in figure.notes[-1]
    assert any("attempt 1/6 at 10,000.0 QPS (100% of the peak)" in line for line in lines)


def test_attempts_follow_the_policy_and_keep_every_log(tmp_path: Path) -> None:
    # busy: wait and repeat; busy again: 80 %; slow: half; too few queries: more; VALID
    fake = Recorder(
        [
            _verdict("perf_constraints", lag_ms=4.0),
            _verdict("perf_constraints", lag_ms=5.0),
            _verdict("perf_constraints", "early_stopping"),
            _verdict("early_stopping", required=6_000),
            _verdict(),
        ]
    )
    clock = FakeClock()
    figure, lines = _measure(fake, tmp_path, clock)
    asked = [(s.server_target_qps, s.min_query_count) for s in fake.asked]
    assert asked == [
        (10_000.0, 1200),
        (10_000.0, 1200),
        (8_000.0, 1200),
        (4_000.0, 1200),
        (4_000.0, 7_500),
    ]
    assert clock.slept == [2.0, 2.0]
    assert (figure.valid, figure.attempt, figure.qps, figure.min_query_count) == (
        True,
        5,
        4_000.0,
        7_500,
    )
    kept = sorted(p.name for p in (tmp_path / "peak").iterdir())
    assert kept == [
        "attempt_1_10000qps",
        "attempt_2_10000qps",
        "attempt_3_8000qps",
        "attempt_4_4000qps",
    ]
    for i, name in enumerate(kept, 1):
        assert (tmp_path / "peak" / name / "mlperf_log_summary.txt").read_text() == f"run {i}\n"
    assert (tmp_path / "run_1" / "mlperf_log_summary.txt").read_text() == "run 5\n"
    assert "machine was busy" in figure.notes[0] and "still busy" in figure.notes[1]
    assert "too slow" in figure.notes[2] and "early stopping needs 6,000" in figure.notes[3]
    assert (
        "comes from attempt 5 (5 in all): 4,000.0 QPS (40% of the 10,000.0 QPS" in figure.notes[-1]
    )
    assert sum("INVALID" in line for line in lines) == 4


def test_the_meter_tells_a_busy_machine_from_a_crowded_load_generator(tmp_path: Path) -> None:
    fake = Recorder(
        [_verdict("perf_constraints", lag_ms=4.0), _verdict("perf_constraints", lag_ms=4.0)]
        + [_verdict()]
    )
    clock = FakeClock()
    meter = FakeMeter([0.05, 0.9, 0.0])
    figure, _ = _measure(fake, tmp_path, clock, meter=meter)
    # little other work: lower at once; then much: wait and repeat the same rate
    assert [s.server_target_qps for s in fake.asked] == [10_000.0, 8_000.0, 8_000.0]
    assert clock.slept == [2.0] and meter.started == 3
    assert "crowd" in figure.notes[0] and "machine was busy" in figure.notes[1]
    assert figure.valid and figure.attempt == 3 and figure.attempts[1].others_cores == 0.9


def test_the_wait_for_a_free_core_fits_in_the_time_budget(tmp_path: Path) -> None:
    asked: list[tuple[str, float]] = []

    def gate(label: str, max_wait_s: float) -> None:
        asked.append((label, max_wait_s))

    fake = Recorder([_verdict("perf_constraints", lag_ms=4.0)] * 2 + [_verdict()])
    _measure(fake, tmp_path, FakeClock(), gate=gate)
    # 60 s budget less the next attempt's 4 s, less what the attempts and waits took
    # (4.5 s each, 2 s busy waits)
    assert asked == [
        ("Server attempt 1", 56.0),
        ("Server attempt 2", 49.5),
        ("Server attempt 3", 43.0),
    ]


def test_the_attempts_give_up_with_the_reason(tmp_path: Path) -> None:
    fake = Recorder([_verdict("perf_constraints", "early_stopping")] * 6)
    figure, _ = _measure(fake, tmp_path, FakeClock())
    assert not figure.valid and figure.attempt == 6
    assert [s.server_target_qps for s in fake.asked] == [10_000.0 / 2**i for i in range(6)]
    assert "still INVALID after 6 attempts" in figure.notes[-2]
    assert "INVALID (logs:" in figure.notes[-1]
    # the last attempt's logs stay where the results go
    assert (tmp_path / "run_1" / "mlperf_log_summary.txt").read_text() == "run 6\n"


def test_a_low_peak_stays_bounded_in_time(tmp_path: Path) -> None:
    fake = Recorder([_verdict("perf_constraints", "early_stopping")])
    figure, _ = _measure(fake, tmp_path, FakeClock(), peak_qps=70.0)
    # 70 QPS x 4 s x 3 = 840 queries at most (not 1,200); at half the rate a run would hold
    # fewer than the 459 queries early stopping needs: no second attempt
    assert [s.min_query_count for s in fake.asked] == [840]
    assert not figure.valid and "459 queries" in figure.notes[-2]


# ------------------------------------------------------------------------------ slow
SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")
PEAK = re.compile(r"FindPeakPerformance: peak target_qps ([0-9.]+)")


def _summary(path: Path) -> dict[str, str]:
    """``key : value`` lines of a summary (the first occurrence of each key)."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in out:
            out[key.strip()] = value.strip()
    return out


def _check_server_figure(root: Path, stdout: str, stderr: str) -> str:
    """The Server figure is a VALID full run at a rate the peak search measured (the peak or a
    step of the attempt policy below it), not a fixed cap; every search and attempt kept its
    logs. Returns a line for the failure message."""
    base = root / "results" / "mlpace-numpy-cpu" / "digits"
    for scenario in SCENARIOS:
        summary = _summary(base / scenario / "performance" / "run_1" / "mlperf_log_summary.txt")
        assert summary["Result is"] == "VALID", (scenario, summary)
        assert summary["Mode"] == "PerformanceOnly"
    server = _summary(base / "Server" / "performance" / "run_1" / "mlperf_log_summary.txt")
    target = float(server["target_qps"])
    completed = float(server["Completed samples per second"])
    peak_dir = root / "peak_search" / "mlpace-numpy-cpu" / "digits" / "Server"
    peaks = [
        float(m.group(1))
        for detail in sorted(peak_dir.glob("search_*/mlperf_log_detail.txt"))
        for m in PEAK.finditer(detail.read_text())
    ]
    assert peaks, "no FindPeakPerformance search found a peak"
    peak = max(peaks)
    attempts = sorted(peak_dir.glob("attempt_*"))
    n = len(attempts) + 1
    # at most 6 attempts, each at most halving the rate: 1/32 of the peak is the floor
    assert 1 <= n <= 6
    assert peak / 2 ** (n - 1) - 0.1 <= target <= peak + 0.1, (target, peak, n)
    assert target != 600.0  # the old fixed cap
    assert abs(completed - target) <= 0.05 * target, (completed, target)
    assert f"comes from attempt {n} ({n} in all): {target:,.1f} QPS" in stderr
    shown = re.search(
        rf"([\d,.]+) samples/s \(completed samples per second; attempt {n} at", stdout
    )
    assert shown is not None and abs(float(shown.group(1).replace(",", "")) - completed) < 0.01
    assert f"of the {peak:,.1f} QPS search peak" in stderr
    in_table = re.search(r"of the ([\d,]+) QPS search peak\)", stdout)
    assert in_table is not None and abs(float(in_table.group(1).replace(",", "")) - peak) <= 1
    return f"Server {completed:,.0f}/s at {target:,.1f} QPS, attempt {n}, peak {peak:,.1f}"


@pytest.mark.slow
def test_default_run_five_times_in_a_row_all_valid(tmp_path: Path) -> None:
    """``mlpace run`` with no arguments, as a new user types it, five times: all VALID, each
    Server figure a measured rate under the search's peak."""
    env = dict(os.environ)
    figures = []
    for i in range(5):
        proc = subprocess.run(
            [sys.executable, "-m", "mlpace.cli.main"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        where = f"run {i + 1}:\n{proc.stdout}\n{proc.stderr[-3000:]}"
        assert proc.returncode == 0, where
        assert "all VALID, accuracy met" in proc.stdout, where
        assert "Traceback" not in proc.stdout + proc.stderr
        if i:
            assert "moved the earlier run" in proc.stderr
        root = tmp_path / "mlpace-results"
        try:
            figures.append(_check_server_figure(root, proc.stdout, proc.stderr))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{where}") from None
        check_logs(root / "results")
        check_logs(root / "peak_search")
    print("\n".join(figures))
