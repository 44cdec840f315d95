"""The four scenarios end to end, in virtual time with a simulated SUT: exact counts and times."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlpace.clock import VirtualClock
from mlpace.loadgen.engine import TestOutcome, run_test
from mlpace.loadgen.enums import TestMode as Mode
from mlpace.loadgen.enums import TestScenario as Sc
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.simulated import SimulatedSUT

MS = 1_000_000


def run(
    tmp_path: Path,
    settings: TestSettings,
    *,
    service: Any = MS,
    servers: int = 1,
    batch_size: int = 1,
    total: int = 100,
    perf: int | None = None,
    response: Any = None,
    trace: bool = False,
) -> tuple[TestOutcome, SimulatedSUT]:
    clock = VirtualClock()
    sut = SimulatedSUT(
        clock, service, servers=servers, batch_size=batch_size, seed=1, response=response
    )
    logs = LogSettings(LogOutputSettings(outdir=str(tmp_path)), enable_trace=trace)
    outcome = run_test(sut, NullQSL(total, perf), settings, logs, clock=clock)
    return outcome, sut


def settings(**kw: Any) -> TestSettings:
    return dataclasses.replace(
        TestSettings(qsl_rng_seed=1, sample_index_rng_seed=2, schedule_rng_seed=3), **kw
    )


def test_single_stream_deterministic_service_is_exact(tmp_path: Path) -> None:
    s = settings(min_duration_ms=1000, single_stream_expected_latency_ns=MS)
    outcome, _ = run(tmp_path, s, trace=True)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    # query k is issued at k ms (the previous one completes then); the run ends after the first
    # issue at or past 1000 ms.
    assert raw.issued_query_count == 1001
    assert raw.query_issued_ns.tolist() == [k * MS for k in range(1001)]
    assert np.all(raw.completed_ns - raw.scheduled_ns == MS)
    result = outcome.performance.result  # type: ignore[union-attr]
    assert result.latency.target_ns == MS  # p90 exactly 1 ms
    assert result.early_stopping_latency_ss_ns == MS
    assert result.qps_with_loadgen_overhead == 1000.0  # (n - 1) / final issue time
    assert result.qps_without_loadgen_overhead == 1000.0  # 1 / mean latency
    assert outcome.valid
    for kind in ("summary", "detail", "accuracy", "trace"):
        assert outcome.log_paths[kind].exists()


def test_single_stream_runs_out_of_queries_when_the_hint_is_too_slow(tmp_path: Path) -> None:
    s = settings(min_duration_ms=1000, single_stream_expected_latency_ns=10 * MS)
    outcome, _ = run(tmp_path, s)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert raw.issued_query_count == 201  # 2 x 1000 ms / 10 ms + 1, all used up in 201 ms
    assert any("Ran out of generated queries" in e.message for e in raw.events)
    assert not outcome.valid


def test_multi_stream_query_latency(tmp_path: Path) -> None:
    # 8 samples per query on 2 servers of 1 ms: every query takes exactly 4 ms.
    s = settings(min_duration_ms=3000, multi_stream_expected_latency_ns=4 * MS)
    outcome, _ = run(tmp_path, dataclasses.replace(s, scenario=Sc.MultiStream), servers=2)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert raw.issued_query_count == 751
    assert raw.issued_sample_count == 751 * 8
    assert raw.query_issued_ns.tolist() == [4 * MS * k for k in range(751)]
    done = np.zeros(raw.issued_query_count, dtype=np.int64)
    np.maximum.at(done, raw.query_of_sample, raw.completed_ns)
    assert np.all(done - raw.query_issued_ns == 4 * MS)
    result = outcome.performance.result  # type: ignore[union-attr]
    assert result.query_latency is not None and result.query_latency.target_ns == 4 * MS
    assert result.early_stopping_latency_ms_ns == 4 * MS
    assert outcome.valid


def test_server_latency_counts_from_the_ideal_arrival(tmp_path: Path) -> None:
    s = settings(
        scenario=Sc.Server,
        server_target_qps=500.0,
        min_duration_ms=2000,
        server_target_latency_ns=50 * MS,
    )
    outcome, sut = run(tmp_path, s)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    eff = outcome.effective
    from mlpace.loadgen.schedule import loadable_sets, make_schedule

    sched = make_schedule(eff, loadable_sets(eff, accuracy=False)[0], accuracy=False)
    # Server issues the whole schedule, each query at its ideal time (no lag in virtual time)
    assert raw.issued_query_count == sched.generated_query_count
    assert np.array_equal(raw.query_scheduled_ns, sched.scheduled_offset_ns)
    assert np.array_equal(raw.query_issued_ns, raw.query_scheduled_ns)
    assert np.all(raw.completed_ns - raw.scheduled_ns >= MS)
    assert sut.issue_calls == raw.issued_query_count
    result = outcome.performance.result  # type: ignore[union-attr]
    n = raw.issued_query_count
    final_done = int(raw.completed_ns[raw.query_of_sample == n - 1].max())
    assert result.completed_samples_per_second == (n - 1) / (final_done / 1e9)
    assert result.issue_lag.max_ns == 0
    assert outcome.valid


class SlowIssueSUT(SimulatedSUT):
    """issue_queries itself takes 5 ms of virtual time, so the issuer falls behind."""

    def issue_query_ids(self, ids: list[int], indices: list[int]) -> None:
        super().issue_query_ids(ids, indices)
        self.clock.advance_to(self.clock.now_ns() + 5 * MS)


def test_server_coalesces_queries_that_are_already_due(tmp_path: Path) -> None:
    clock = VirtualClock()
    sut = SlowIssueSUT(clock, 10_000)
    s = settings(
        scenario=Sc.Server,
        server_target_qps=1000.0,
        min_duration_ms=500,
        server_coalesce_queries=True,
        min_query_count=1,
    )
    logs = LogSettings(LogOutputSettings(outdir=str(tmp_path)), enable_trace=False)
    outcome = run_test(sut, NullQSL(100), s, logs, clock=clock)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert sut.issue_calls < raw.issued_query_count / 3
    # every sample keeps its own ideal time; several share one issue time
    assert np.all(np.diff(raw.query_scheduled_ns) >= 0)
    assert len(np.unique(raw.query_issued_ns)) == sut.issue_calls
    assert np.all(raw.issued_ns >= raw.scheduled_ns)


def test_server_max_async_queries_ends_the_run_early(tmp_path: Path) -> None:
    s = settings(
        scenario=Sc.Server,
        server_target_qps=1000.0,
        min_duration_ms=1000,
        server_max_async_queries=10,
    )
    outcome, _ = run(tmp_path, s, service=1000 * MS)  # the SUT holds each sample for 1 s
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert raw.issued_query_count == 10
    assert any("outstanding" in e.message for e in raw.events)
    assert not outcome.valid


def test_offline_samples_per_second_is_exact(tmp_path: Path) -> None:
    s = settings(scenario=Sc.Offline, offline_expected_qps=1000.0, min_duration_ms=1000)
    outcome, sut = run(tmp_path, s)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert raw.issued_query_count == 1 and raw.issued_sample_count == 1100
    assert sut.issue_calls == 1
    assert int(raw.completed_ns.max()) == 1100 * MS  # 1100 samples / 1.1 s = 1000 samples/s
    result = outcome.performance.result  # type: ignore[union-attr]
    assert result.samples_per_second == pytest.approx(1000.0, rel=1e-12)
    assert outcome.valid


def _accuracy_entries(outcome: TestOutcome) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(outcome.log_paths["accuracy"].read_text())
    return entries


def test_accuracy_mode_issues_every_sample_once_and_logs_every_response(tmp_path: Path) -> None:
    s = settings(mode=Mode.AccuracyOnly, scenario=Sc.Server, server_target_qps=1000.0)
    outcome, _ = run(
        tmp_path, s, total=250, perf=100, response=lambda idx: idx.to_bytes(2, "little")
    )
    raw = outcome.accuracy.raw  # type: ignore[union-attr]
    assert outcome.performance is None
    assert sorted(raw.sample_index.tolist()) == list(range(250))
    entries = _accuracy_entries(outcome)
    assert len(entries) == 250
    for e in entries:
        assert int(e["data"], 16).to_bytes(2, "big") == e["qsl_idx"].to_bytes(2, "little")
    assert sorted(e["seq_id"] for e in entries) == list(range(250))


def test_submission_run_does_accuracy_then_performance(tmp_path: Path) -> None:
    s = settings(mode=Mode.SubmissionRun, min_duration_ms=200, single_stream_expected_latency_ns=MS)
    outcome, _ = run(tmp_path, s, total=150, perf=100, response=lambda idx: b"\x01")
    acc, perf = outcome.accuracy, outcome.performance
    assert acc is not None and perf is not None
    assert acc.raw.issued_sample_count == 150
    assert perf.raw.first_sample_id == 150  # sequence ids keep counting
    assert perf.raw.issued_query_count == 201
    # accuracy entries come from the accuracy pass only (no sampling configured)
    assert len(_accuracy_entries(outcome)) == 150


def test_find_peak_performance_brackets_the_capacity(tmp_path: Path) -> None:
    # One server, 1 ms deterministic service: capacity 1000 qps; a 20 ms p99 bound is met well
    # below that and missed above it.
    s = settings(
        mode=Mode.FindPeakPerformance,
        scenario=Sc.Server,
        server_target_qps=100.0,
        server_target_latency_ns=20 * MS,
        min_duration_ms=5000,
        server_find_peak_qps_decimals_of_precision=0,
    )
    outcome, _ = run(tmp_path, s)
    assert outcome.peak_qps is not None
    assert 700 < outcome.peak_qps < 1000
    ok = [q for q, passed in outcome.probes if passed]
    bad = [q for q, passed in outcome.probes if not passed]
    assert max(ok) == outcome.peak_qps and min(bad) > outcome.peak_qps
    # the official stop rule: floor(l) + 1 >= floor(u), so the bracket is under 2 qps wide
    assert min(bad) - outcome.peak_qps < 2.0
    assert outcome.effective.target_qps == outcome.peak_qps
