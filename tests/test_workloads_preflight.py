"""The memory check before a run (``mlpace.workloads.preflight``), with the available memory
injected."""

from __future__ import annotations

import dataclasses

import pytest

from mlpace.loadgen.enums import TestMode as Mode
from mlpace.loadgen.enums import TestScenario as Scenario
from mlpace.loadgen.settings import TestSettings
from mlpace.workloads import preflight

SERVER = TestSettings(scenario=Scenario.Server, server_target_qps=20_000, min_duration_ms=4_000)


def test_planned_samples_follow_the_rate_and_the_duration() -> None:
    assert preflight.planned_samples(SERVER, total=1024, performance=1024) == 80_000
    long = dataclasses.replace(SERVER, min_duration_ms=1_000_000_000)
    assert preflight.planned_samples(long, total=1024, performance=1024) == 20_000_000_000
    # the query-count floor wins over a short duration
    many = dataclasses.replace(SERVER, min_query_count=200_000)
    assert preflight.planned_samples(many, total=1024, performance=1024) == 200_000
    # an accuracy pass issues each sample once
    acc = dataclasses.replace(long, mode=Mode.AccuracyOnly)
    assert preflight.planned_samples(acc, total=360, performance=360) == 360


def test_a_run_too_big_for_memory_is_refused_with_the_arithmetic() -> None:
    long = dataclasses.replace(SERVER, min_duration_ms=1_000_000_000)
    with pytest.raises(preflight.MemoryRefused) as err:
        preflight.check_memory(
            long, total=1024, performance=1024, label="Server", available=lambda: 8 * 2**30
        )
    text = str(err.value)
    assert text.startswith("Server: this run would pre-generate about 20,000,000,000 samples")
    assert "1,000,000.0 s at 20,000 QPS" in text and "2,607.7 GiB" in text
    assert "8.0 GiB of memory is available" in text and "--min-duration" in text


def test_a_run_that_fits_or_an_unknown_memory_passes() -> None:
    preflight.check_memory(SERVER, total=1024, performance=1024, available=lambda: 2**30)
    long = dataclasses.replace(SERVER, min_duration_ms=1_000_000_000)
    preflight.check_memory(long, total=1024, performance=1024, available=lambda: None)
