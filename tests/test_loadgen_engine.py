"""The engine's plumbing: the response sink, the SUT call paths, real-time null-SUT runs."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlpace.clock import MonotonicClock
from mlpace.loadgen._recorder import ResponseRecorder
from mlpace.loadgen.engine import run_test
from mlpace.loadgen.enums import TestScenario as Sc
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL, NullSUT
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.sut import QuerySample, QuerySampleResponse


def recorder(n: int, *, log_all: bool = False) -> tuple[ResponseRecorder, list[Any], list[Any]]:
    errors: list[Any] = []
    logged: list[Any] = []
    ticks = iter(range(100, 10_000))
    rec = ResponseRecorder(lambda: next(ticks), lambda key, text: errors.append((key, text)))
    rec.begin_pass(
        first_id=10,
        sample_index=np.arange(n, dtype=np.int64) * 7,
        log_all=log_all,
        log_mask=b"",
        accuracy=lambda *entry: logged.append(entry),
        use_tokens=False,
        check_first_token=False,
    )
    rec.issued = n
    return rec, errors, logged


def test_sink_fast_path_numpy_ids_and_bookkeeping() -> None:
    rec, errors, _ = recorder(5)
    rec.complete_ids(np.array([10, 11], dtype=np.int64))
    rec.complete_ids([12])
    assert rec.completed == 3
    assert list(rec.completed_ns[:3]) == [100, 100, 101]
    assert rec.missing_ids() == [13, 14]
    rec.complete_ids([12, 99, 9])  # a duplicate, an id past the issued ones, one before
    assert rec.duplicate_responses == 1 and rec.unknown_id_responses == 2
    assert rec.completed == 3 and len(errors) == 3
    assert all(key == "error_runtime" for key, _ in errors)


def test_sink_copies_logged_payloads_at_completion() -> None:
    rec, _, logged = recorder(3, log_all=True)
    buf = bytearray(b"\x01\x02")
    rec.complete([QuerySampleResponse(11, buf)])  # type: ignore[arg-type]  # buffers allowed
    buf[0] = 0xFF  # the caller reuses its buffer
    assert logged == [(11, 7, b"\x01\x02", None, None)]
    assert rec.logs_payload(12) and not rec.logs_payload(13)
    rec.complete_ids([10])  # no payload: logged with empty data
    assert logged[-1] == (10, 0, b"", None, None)


def test_sink_rejects_everything_after_the_pass() -> None:
    rec, errors, _ = recorder(3)
    rec.end_pass()
    rec.complete_ids([10])
    assert rec.completed == 0 and rec.late_responses == 1 and errors


class PlainSUT:
    """A SUT with only the protocol methods: it gets QuerySample objects."""

    name = "PlainSUT"

    def __init__(self) -> None:
        self.sink: Any = None
        self.seen: list[QuerySample] = []

    def bind(self, sink: Any) -> None:
        self.sink = sink

    def issue_queries(self, samples: list[QuerySample]) -> None:
        self.seen.extend(samples)
        self.sink.complete([QuerySampleResponse(s.id, b"") for s in samples])

    def flush_queries(self) -> None:
        return None


def _logs(tmp_path: Path) -> LogSettings:
    return LogSettings(LogOutputSettings(outdir=str(tmp_path)), enable_trace=False)


def test_plain_sut_gets_query_samples_with_sequential_ids(tmp_path: Path) -> None:
    sut = PlainSUT()
    settings = TestSettings(min_duration_ms=50, single_stream_expected_latency_ns=1_000)
    outcome = run_test(sut, NullQSL(64), settings, _logs(tmp_path))
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert all(isinstance(s, QuerySample) for s in sut.seen)
    assert [s.id for s in sut.seen] == list(range(raw.issued_sample_count))
    assert [s.index for s in sut.seen] == raw.sample_index.tolist()


@pytest.mark.parametrize("completion", ["inline", "thread"])
@pytest.mark.parametrize("scenario", list(Sc))
def test_null_sut_real_time_runs_complete_every_sample(
    tmp_path: Path, scenario: Sc, completion: str
) -> None:
    sut = NullSUT(completion=completion)
    settings = TestSettings(
        scenario=scenario,
        min_duration_ms=100,
        single_stream_expected_latency_ns=2_000,
        multi_stream_expected_latency_ns=16_000,
        server_target_qps=5_000.0,
        offline_expected_qps=200_000.0,
        min_query_count=10,
    )
    switch = sys.getswitchinterval()
    gc_enabled = gc.isenabled()
    try:
        outcome = run_test(sut, NullQSL(256), settings, _logs(tmp_path), clock=MonotonicClock())
    finally:
        sut.close()
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert raw.issued_sample_count > 0
    assert raw.completed_mask.all()
    assert np.all(raw.completed_ns >= raw.issued_ns)
    # the hot-path tweaks are undone
    assert sys.getswitchinterval() == switch and gc.isenabled() == gc_enabled
    if scenario == Sc.Server:
        assert raw.issued_query_count == outcome.effective.requested.min_query_count or (
            raw.issued_query_count > 400
        )


def test_token_latencies_are_recorded(tmp_path: Path) -> None:
    from mlpace.clock import VirtualClock
    from mlpace.loadgen.simulated import SimulatedSUT

    clock = VirtualClock()
    sut = SimulatedSUT(clock, 2_000_000, n_tokens=10, response=lambda idx: b"\x00" * 40)
    settings = TestSettings(
        scenario=Sc.Server,
        server_target_qps=50.0,
        min_duration_ms=2000,
        use_token_latencies=True,
        ttft_latency=5_000_000,
        tpot_latency=5_000_000,
    )
    outcome = run_test(sut, NullQSL(64), settings, _logs(tmp_path), clock=clock)
    perf = outcome.performance
    assert perf is not None
    raw = perf.raw
    assert np.all(raw.n_tokens == 10)
    started = raw.first_token_ns >= 0
    assert started.all()
    assert np.all(raw.first_token_ns < raw.completed_ns)
    assert perf.result.token_error_count == 0


def test_performance_mode_accuracy_sampling_logs_the_chosen_samples(tmp_path: Path) -> None:
    import json

    from mlpace.clock import VirtualClock
    from mlpace.loadgen.schedule import accuracy_log_mask
    from mlpace.loadgen.simulated import SimulatedSUT

    clock = VirtualClock()
    sut = SimulatedSUT(clock, 1_000_000, response=lambda idx: bytes([idx % 256]))
    settings = TestSettings(
        min_duration_ms=300,
        single_stream_expected_latency_ns=1_000_000,
        accuracy_log_sampling_target=30,
        accuracy_log_rng_seed=99,
    )
    outcome = run_test(sut, NullQSL(64), settings, _logs(tmp_path), clock=clock)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    mask = accuracy_log_mask(outcome.effective, 601)[: raw.issued_sample_count]
    entries = json.loads(outcome.log_paths["accuracy"].read_text())
    assert 10 < len(entries) == int(mask.sum())
    expected = {int(i) + raw.first_sample_id for i in np.flatnonzero(mask)}
    assert {e["seq_id"] for e in entries} == expected
    for e in entries:
        assert int(e["data"], 16) == e["qsl_idx"] % 256
