"""Refuse up front a run whose pre-generated query list would not fit in memory.

The load generator generates every query of a performance pass before the first is issued, and
records each sample's times as it runs: about :data:`BYTES_PER_SAMPLE` bytes per sample in all
(measured with the null SUT: 1.5M more Server samples took 206 MB more). A run asked for a
long duration at a high rate (``--min-duration 1000000 --target-qps 20000``: 2e10 samples)
used to start its logs and then die in an allocation, leaving an empty summary. This check
reads the same derived numbers the load generator will use (its effective settings: the
generation span and the arrival period) and compares the estimate with the memory available
now, before any log is opened, with the arithmetic in the message.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

from mlpace.errors import MlpaceError
from mlpace.loadgen.effective import effective_settings
from mlpace.loadgen.enums import TestMode
from mlpace.loadgen.settings import TestSettings

__all__ = [
    "BYTES_PER_SAMPLE",
    "MemoryRefused",
    "available_memory",
    "check_memory",
    "planned_samples",
]

BYTES_PER_SAMPLE = 140
FLAGS = "--min-duration, --target-qps or --expected-latency-ms, --min-query-count"


class MemoryRefused(MlpaceError):
    """The run would need more memory than the machine has available."""


def available_memory() -> int | None:
    """Bytes of memory available now (Linux: MemAvailable), else physical memory; None if
    the system says nothing."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


def planned_samples(settings: TestSettings, *, total: int, performance: int) -> int:
    """About how many samples the load generator will generate for ``settings``."""
    if settings.mode is TestMode.AccuracyOnly:
        return total
    eff = effective_settings(
        settings, total_sample_count=total, performance_sample_count=performance
    )
    spq = max(1, int(eff.samples_per_query))
    span = eff.generation_duration_ns / eff.arrival_period_ns if eff.arrival_period_ns > 0 else 0
    if not math.isfinite(span):
        span = float("inf")
    queries = max(float(eff.min_query_count), span)
    return int(min(queries * spq, 2**62))


def check_memory(
    settings: TestSettings,
    *,
    total: int,
    performance: int,
    label: str = "",
    available: Callable[[], int | None] = available_memory,
) -> None:
    """Raise :class:`MemoryRefused` when ``settings`` would need more memory than is
    available, naming the flags to change."""
    samples = planned_samples(settings, total=total, performance=performance)
    need = samples * BYTES_PER_SAMPLE
    have = available()
    if have is None or need <= have:
        return
    lead = f"{label}: " if label else ""
    raise MemoryRefused(
        f"{lead}this run would pre-generate about {samples:,} samples "
        f"(minimum duration {settings.min_duration_ms / 1000:,} s at "
        f"{_rate(settings)}), about {_gib(need)} at ~{BYTES_PER_SAMPLE} bytes each; "
        f"{_gib(have)} of memory is available. Ask for a shorter or slower run ({FLAGS})"
    )


def _rate(settings: TestSettings) -> str:
    name = settings.scenario.value
    if name == "Server":
        return f"{settings.server_target_qps:,.6g} QPS"
    if name == "Offline":
        return f"{settings.offline_expected_qps:,.6g} samples/s expected"
    if name == "SingleStream":
        return f"{settings.single_stream_expected_latency_ns:,} ns per query expected"
    return f"{settings.multi_stream_expected_latency_ns:,} ns per query expected"
