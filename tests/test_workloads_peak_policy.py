"""The default run's attempt policy (``mlpace.workloads._peak_policy``): each attempt's outcome
mapped to the next step, without any real run."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from mlpace.loadgen.results import IssueLagStats, ValidityCheck
from mlpace.workloads import _peak_policy as pp

BOUND_NS = 10_000_000
LIMITS = pp.Limits(min_duration_s=4.0, min_query_count=100)


def attempt(
    number: int = 1,
    qps: float = 10_000.0,
    failed: tuple[str, ...] = (),
    *,
    lag_ms: float = 1.0,
    queries: int = 40_000,
    required: int = 500,
    min_query_count: int = 1200,
    ended_s: float = 4.5,
) -> pp.Attempt:
    return pp.Attempt(
        number=number,
        qps=qps,
        min_query_count=min_query_count,
        failed=failed,
        queries=queries,
        queries_required=required,
        issue_lag_p99_ns=int(lag_ms * 1e6),
        bound_ns=BOUND_NS,
        started_s=ended_s - 4.0,
        ended_s=ended_s,
    )


def test_the_first_attempt_runs_at_the_peak_with_the_query_floor() -> None:
    step = pp.first_step(17_685.43, LIMITS)
    assert (step.action, step.qps, step.min_query_count, step.wait_s) == ("run", 17_685.4, 1200, 0)
    assert "peak" in step.reason
    # a low rate: the floor is what MAX_STRETCH times the duration holds, not 1200
    assert pp.first_step(50.0, LIMITS).min_query_count == 600


def test_a_valid_attempt_ends_the_search() -> None:
    step = pp.next_step([attempt(3, 8_000.0)], LIMITS)
    assert step.action == "done" and step.qps == 8_000.0
    assert "attempt 3" in step.reason and "VALID" in step.reason


def test_a_busy_machine_waits_and_repeats_then_lowers_to_80_percent() -> None:
    busy = attempt(1, failed=("perf_constraints",), lag_ms=3.0)  # 30 % of the 10 ms bound
    first = pp.next_step([busy], LIMITS)
    assert (first.action, first.qps, first.wait_s) == ("run", 10_000.0, pp.BUSY_WAIT_S)
    assert "busy" in first.reason and "issue lag p99 3 ms" in first.reason
    again = replace(busy, number=2, ended_s=11.0)
    second = pp.next_step([busy, again], LIMITS)
    assert (second.action, second.qps, second.wait_s) == ("run", 8_000.0, pp.BUSY_WAIT_S)
    assert "still busy" in second.reason and "80%" in second.reason


def test_a_lagging_load_generator_with_little_other_work_lowers_at_once() -> None:
    # other work took 0.1 cores during the attempt: the SUT's own threads crowded it out
    crowded = replace(attempt(1, failed=("perf_constraints",), lag_ms=4.0), others_cores=0.1)
    step = pp.next_step([crowded], LIMITS)
    assert (step.action, step.qps, step.wait_s) == ("run", 8_000.0, 0.0)
    assert "crowd" in step.reason and "other work took 0.10 cores" in step.reason
    # it does not use up the busy machine's one repeat at the same rate
    busy = replace(crowded, number=2, qps=8_000.0, others_cores=0.6)
    step = pp.next_step([crowded, busy], LIMITS)
    assert (step.qps, step.wait_s) == (8_000.0, pp.BUSY_WAIT_S)
    assert "other work took 0.60 cores" in step.reason
    # unknown (no /proc/stat): treated as a busy machine
    assert pp.next_step([replace(crowded, others_cores=None)], LIMITS).wait_s == pp.BUSY_WAIT_S


def test_a_slow_sut_halves_the_rate() -> None:
    slow = attempt(1, failed=("perf_constraints", "early_stopping"), lag_ms=2.9)
    step = pp.next_step([slow], LIMITS)
    assert (step.action, step.qps, step.wait_s) == ("run", 5_000.0, 0.0)
    assert "too slow" in step.reason and "50%" in step.reason


def test_too_few_queries_for_early_stopping_asks_for_the_count_plus_a_quarter() -> None:
    short = attempt(1, 8_800.0, ("early_stopping",), queries=35_275, required=37_457)
    step = pp.next_step([short], LIMITS)
    assert (step.action, step.qps, step.min_query_count) == ("run", 8_800.0, 46_822)
    assert "37,457" in step.reason and "35,275" in step.reason


def test_too_few_queries_lowers_the_rate_when_the_count_would_not_fit_in_time() -> None:
    # 1,000,000 x 1.25 queries at 10,000 QPS: 125 s, more than the 55 s left
    short = attempt(1, failed=("early_stopping",), required=1_000_000, ended_s=5.0)
    step = pp.next_step([short], LIMITS)
    assert step.action == "run" and step.qps == 8_000.0 and step.min_query_count == 1200
    assert "more than the 55 s left" in step.reason


def test_a_failure_no_rate_fixes_stops() -> None:
    step = pp.next_step([attempt(1, failed=("min_duration", "perf_constraints"))], LIMITS)
    assert step.action == "give_up" and "min_duration" in step.reason


def test_at_most_six_attempts() -> None:
    history = [
        attempt(i, 10_000.0 / 2**i, ("perf_constraints",), ended_s=4.0 * i) for i in range(1, 7)
    ]
    step = pp.next_step(history, LIMITS)
    assert step.action == "give_up" and "6 attempts" in step.reason
    assert pp.next_step(history[:5], LIMITS).action == "run"


def test_no_attempt_may_end_after_the_time_budget() -> None:
    late = attempt(2, failed=("perf_constraints",), ended_s=57.0)
    step = pp.next_step([attempt(1, failed=("perf_constraints",)), late], LIMITS)
    assert step.action == "give_up" and "past the 60 s" in step.reason
    # the same decision earlier in the budget runs
    assert pp.next_step([replace(late, ended_s=20.0)], LIMITS).action == "run"


def test_a_rate_too_low_for_early_stopping_stops() -> None:
    # half of 60 QPS: 30 x 4 s x 3 = 360 queries at most, fewer than early stopping's 459
    step = pp.next_step([attempt(1, 60.0, ("perf_constraints",))], LIMITS)
    assert step.action == "give_up" and "459 queries" in step.reason


@dataclass
class FakeResult:
    checks: tuple[ValidityCheck, ...]
    queries_issued: int = 35_275
    target_latency_ns: int = BOUND_NS
    issue_lag: IssueLagStats = IssueLagStats(p99_ns=1_487_506)


@pytest.mark.parametrize(
    ("checks", "kind"),
    [
        ((), "valid"),
        (("early_stopping",), "queries"),
        (("perf_constraints", "early_stopping"), "slow"),
        (("incomplete_samples",), "other"),
    ],
)
def test_attempt_of_reads_a_run_result(checks: tuple[str, ...], kind: str) -> None:
    names = ("perf_constraints", "min_duration", "min_queries", "early_stopping", *checks)
    result = FakeResult(
        tuple(
            ValidityCheck(n, n not in checks, 35_275, 37_457 if n == "early_stopping" else 0)
            for n in dict.fromkeys(names)
        )
    )
    a = pp.attempt_of(result, number=2, qps=8_800.0, min_query_count=1200, started_s=1, ended_s=5)
    assert (a.number, a.queries, a.queries_required, a.issue_lag_p99_ns) == (
        2,
        35_275,
        37_457,
        1_487_506,
    )
    assert pp.classify(a) == kind
    assert not a.busy
