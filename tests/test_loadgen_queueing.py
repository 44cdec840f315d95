"""Queueing theory as an end-to-end check of Server timing: M/M/1 sojourn-time percentiles."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mlpace.clock import VirtualClock
from mlpace.loadgen.engine import run_test
from mlpace.loadgen.enums import TestScenario as Sc
from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
from mlpace.loadgen.null_sut import NullQSL
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.simulated import SimulatedSUT, exponential


def test_mm1_p99_latency_matches_theory(tmp_path: Path) -> None:
    # Poisson arrivals at lambda = 500/s, exponential service at mu = 1000/s (rho = 0.5). The
    # M/M/1 FIFO sojourn time is exponential with rate mu - lambda, so its p-quantile is
    # -ln(1 - p) / (mu - lambda): 9.21 ms at p99.
    lam, mu = 500.0, 1000.0
    clock = VirtualClock()
    sut = SimulatedSUT(clock, exponential(1e9 / mu), seed=7)
    settings = TestSettings(
        scenario=Sc.Server,
        server_target_qps=lam,
        server_target_latency_ns=100_000_000,
        min_duration_ms=400_000,  # 200k queries of virtual time
        schedule_rng_seed=12345,
    )
    logs = LogSettings(LogOutputSettings(outdir=str(tmp_path)), enable_trace=False)
    outcome = run_test(sut, NullQSL(1024), settings, logs, clock=clock)
    raw = outcome.performance.raw  # type: ignore[union-attr]
    assert raw.issued_sample_count > 190_000
    latency = np.sort(raw.completed_ns - raw.scheduled_ns)
    n = latency.shape[0]
    for p in (0.5, 0.9, 0.99):
        expected_ns = -math.log(1.0 - p) / (mu - lam) * 1e9
        observed_ns = float(latency[int(n * p)])
        assert abs(observed_ns - expected_ns) / expected_ns < 0.05, (p, observed_ns, expected_ns)
    # and the mean: 1 / (mu - lambda) = 2 ms
    assert abs(latency.mean() - 2e6) / 2e6 < 0.05
    assert outcome.valid
