"""The batching / co-location study: the pure summary, the table, and one real tiny point."""

from __future__ import annotations

import os

import pytest

from mlpace.errors import TaskError
from mlpace.workloads.colocation import (
    StudyPoint,
    bounded_throughput,
    format_table,
    measure_point,
    summarize,
)


def test_summary_from_injected_latencies() -> None:
    # Two instances, 100 requests of 8 samples each over a 2 s window.
    a = [0.001] * 99 + [0.050]
    b = [0.002] * 100
    p = summarize([a, b], 2.0, batch_size=8, bound_ms=10.0, pinned=True)
    assert (p.instances, p.requests) == (2, 200)
    assert p.throughput == pytest.approx(200 * 8 / 2.0)
    assert p.p50_ms == pytest.approx(1.5, abs=0.51)
    assert p.p99_ms == pytest.approx(2.0, abs=1e-9)  # one 50 ms request in 200 is the top 0.5 %
    assert p.bounded_throughput == p.throughput
    slow = summarize([[0.020] * 10], 1.0, batch_size=1, bound_ms=10.0, pinned=False)
    assert slow.bounded_throughput == 0.0 and bounded_throughput(5.0, 10.0, 10.0) == 5.0
    with pytest.raises(TaskError, match="no request"):
        summarize([[]], 1.0, batch_size=1, bound_ms=1.0, pinned=False)


def test_table_marks_missed_bounds_and_the_best_point() -> None:
    points = [
        StudyPoint(1, 1, 10, 0.5, 0.9, 1000.0, 60.0, True),
        StudyPoint(1, 2, 10, 0.6, 1.2, 1800.0, 60.0, True),
        StudyPoint(64, 1, 10, 5.0, 9.0, 9000.0, 60.0, True),
        StudyPoint(64, 2, 10, 50.0, 75.0, 12000.0, 60.0, True),
    ]
    table = format_table(points)
    assert "| 64 | 9,000 (p99 9.00 ms) | — (p99 75.0 ms > 60) |" in table
    assert "best latency-bounded throughput: 9,000 samples/s at batch 64 x 1 instance(s)" in table


def test_one_real_point_pinned() -> None:
    p = measure_point(4, 1, duration_s=0.3, bound_ms=1000.0)
    assert p.requests > 0 and p.throughput > 0 and p.p99_ms >= p.p50_ms > 0
    assert p.pinned == hasattr(os, "sched_setaffinity")
    with pytest.raises(TaskError, match="must be >= 1"):
        measure_point(0, 1)


def test_medians_over_repetitions() -> None:
    from mlpace.workloads.colocation import median_points

    reps = [
        [StudyPoint(8, 2, 10, 1.0, 5.0, 100.0, 60.0, True)],
        [StudyPoint(8, 2, 12, 3.0, 90.0, 50.0, 60.0, True)],
        [StudyPoint(8, 2, 11, 2.0, 7.0, 80.0, 60.0, True)],
    ]
    (m,) = median_points(reps)
    assert (m.p50_ms, m.p99_ms, m.throughput, m.requests) == (2.0, 7.0, 80.0, 11)
    assert m.bounded_throughput == 80.0
