"""Waiting for the next arrival leaves the interpreter and the CPU to the system under test.

The issuing thread sleeps through most of a wait and spins only for the stretch the OS is likely
to oversleep, releasing the GIL on every turn of that spin. Checked two ways: on fake time (how
long the spin lasts, how often it lets go of the GIL: exact) and with a real worker-thread SUT
that holds the GIL while it works (the LoadGen's own CPU time per query: thread CPU time, no
wall-clock assertion).
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

import mlpace.clock as clock_module
from mlpace.clock import MonotonicClock
from mlpace.loadgen.engine import run_test
from mlpace.loadgen.enums import TestScenario as Scenario
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL
from mlpace.loadgen.settings import TestSettings

US = 1_000


class FakeTime:
    """perf_counter_ns advances 100 ns per call, sleep(x) by x plus an oversleep drawn from
    ``oversleep_ns``, a zero-timeout select by 1.5 µs (and counts as a GIL release)."""

    def __init__(self, oversleep_ns: np.ndarray) -> None:
        self.now = 0
        self.oversleep = iter(oversleep_ns.tolist())
        self.releases: list[int] = []  # fake times at which the GIL was let go
        self.sleeps = 0
        self.time = SimpleNamespace(perf_counter_ns=self.perf_counter_ns, sleep=self.sleep)
        self.select = SimpleNamespace(select=self.select_call)

    def perf_counter_ns(self) -> int:
        self.now += 100
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.releases.append(self.now)
        self.now += round(seconds * 1e9) + next(self.oversleep)

    def select_call(self, *args: Any) -> tuple[list[Any], list[Any], list[Any]]:
        self.releases.append(self.now)
        self.now += 1_500
        return [], [], []


def _waits(monkeypatch: pytest.MonkeyPatch, clock: MonotonicClock, oversleep: np.ndarray) -> Any:
    fake = FakeTime(oversleep)
    monkeypatch.setattr(clock_module, "time", fake.time)
    monkeypatch.setattr(clock_module, "select", fake.select)
    lags = []
    deadline = 0
    for _ in range(len(oversleep)):
        deadline = fake.now + 1_000 * US  # arrivals 1 ms apart
        clock.sleep_until(deadline)
        lags.append(fake.now - deadline)
    return fake, np.array(lags)


def test_the_spin_adapts_to_the_oversleep_and_lets_go_of_the_gil(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(7)
    oversleep = rng.uniform(5 * US, 40 * US, 2_000).astype(np.int64)
    clock = MonotonicClock()
    fake, lags = _waits(monkeypatch, clock, oversleep)
    assert fake.sleeps == len(oversleep)  # every wait sleeps first
    spin_per_wait = clock.spun_ns / len(oversleep)
    # The margin follows the worst recent oversleep (40 µs): about 20 µs of spin per arrival
    # instead of the 100 µs a fixed margin costs, and almost every arrival is on time.
    assert spin_per_wait < 30 * US
    assert np.percentile(lags, 50) < 2 * US and np.percentile(lags, 99) < 10 * US
    gaps = np.diff(np.array(fake.releases))
    # While spinning, the GIL is let go every turn: never held more than a few microseconds
    # (the longest holds are the sleeps' own gaps, where nothing else runs: excluded).
    spinning = gaps[gaps < 100 * US]
    assert spinning.size > 0 and spinning.max() <= 2 * US


def test_a_fixed_margin_and_never_spinning(monkeypatch: pytest.MonkeyPatch) -> None:
    oversleep = np.full(200, 10 * US, dtype=np.int64)
    fixed = MonotonicClock(min_spin_ns=100 * US, max_spin_ns=100 * US)
    _, lags = _waits(monkeypatch, fixed, oversleep)
    assert fixed.margin_ns == 100 * US and fixed.spun_ns / 200 > 85 * US
    assert lags.max() < 2 * US
    never = MonotonicClock(min_spin_ns=0, max_spin_ns=0)
    _, lags = _waits(monkeypatch, never, oversleep)
    assert never.spun_ns == 0
    assert lags.min() >= 10 * US  # the OS wake-up lag becomes issue lag, as in the official


def test_bad_spin_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="min_spin_ns <= max_spin_ns"):
        MonotonicClock(min_spin_ns=10, max_spin_ns=5)


class GilHoldingWorker:
    """A SUT completing from a worker thread that spins ``service_ns`` per sample in Python
    (a CPU-bound model step holding the GIL). Records the issuing thread's CPU time at each
    issue call (they run on the issuing thread)."""

    name = "GilHoldingWorker"

    def __init__(self, service_ns: int) -> None:
        self.service_ns = service_ns
        self.work: queue.SimpleQueue[list[int] | None] = queue.SimpleQueue()
        self.issuer_cpu: list[float] = []
        self.sink: Any = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def bind(self, sink: Any) -> None:
        self.sink = sink

    def issue_query_ids(self, ids: list[int], indices: list[int]) -> None:
        self.issuer_cpu.append(time.thread_time())
        self.work.put(ids)

    def issue_queries(self, samples: Any) -> None:
        self.issue_query_ids([s.id for s in samples], [s.index for s in samples])

    def flush_queries(self) -> None:
        return None

    def close(self) -> None:
        self.work.put(None)
        self.thread.join(10)

    def _serve(self) -> None:
        clock = time.perf_counter_ns
        while True:
            ids = self.work.get()
            if ids is None:
                return
            for i in ids:
                end = clock() + self.service_ns
                while clock() < end:
                    pass
                self.sink.complete_ids([i])


def test_loadgen_busy_time_per_query_is_bounded_with_a_gil_holding_worker(
    tmp_path: Path,
) -> None:
    # Server at 500 QPS: 2 ms between arrivals on average, a 200 µs GIL-held service. A loop
    # that busy-waits for arrivals would burn ~2 ms of issuing-thread CPU per query; sleeping
    # through the wait costs the Python issue path plus a short spin.
    sut = GilHoldingWorker(200 * US)
    clock = MonotonicClock()
    settings = TestSettings(
        scenario=Scenario.Server, server_target_qps=500.0, min_duration_ms=400,
        min_query_count=100, server_target_latency_ns=1_000_000_000,
    )  # fmt: skip
    logs = LogSettings(LogOutputSettings(outdir=str(tmp_path)))
    try:
        outcome = run_test(sut, NullQSL(64), settings, logs, clock=clock)
    finally:
        sut.close()
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert raw.issued_sample_count >= 100 and (raw.completed_ns >= 0).all()
    cpu = np.diff(np.array(sut.issuer_cpu))
    per_query_us = float(cpu.mean()) * 1e6
    assert per_query_us < 300, f"issuing thread used {per_query_us:.0f} µs CPU per query"
    assert clock.spun_ns / len(cpu) <= clock.max_spin_ns + 50 * US
