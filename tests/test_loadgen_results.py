import numpy as np
import pytest

from mlpace.loadgen import enums
from mlpace.loadgen.effective import effective_settings
from mlpace.loadgen.raw import RawRun
from mlpace.loadgen.results import compute_result
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.stats import latency_stats, mean_ns, percentile_of_sorted, sorted_ns
from mlpace.loadgen.tokens import MSG_ONE_TOKEN, token_error_events, tpot_ns


def eff(**kw: object):  # type: ignore[no-untyped-def]
    return effective_settings(
        TestSettings(**kw), total_sample_count=1000, performance_sample_count=100
    )  # type: ignore[arg-type]


def raw_run(
    scenario,
    *,
    sched,
    issued,
    completed,
    query_of_sample=None,
    first_token=None,
    n_tokens=None,
    mode=enums.TestMode.PerformanceOnly,
    **kw,
):  # type: ignore[no-untyped-def]
    sched, issued, completed = (np.asarray(a, dtype=np.int64) for a in (sched, issued, completed))
    n = completed.size
    qos = np.arange(n, dtype=np.int64) if query_of_sample is None else np.asarray(query_of_sample)
    nq = int(qos.max()) + 1 if n else 0
    first = np.searchsorted(qos, np.arange(nq))
    return RawRun(
        scenario=scenario,
        mode=mode,
        sample_index=np.zeros(n, dtype=np.int64),
        query_of_sample=qos.astype(np.int64),
        scheduled_ns=sched,
        issued_ns=issued,
        completed_ns=completed,
        first_token_ns=np.full(n, -1, np.int64)
        if first_token is None
        else np.asarray(first_token, np.int64),
        n_tokens=np.zeros(n, np.int64) if n_tokens is None else np.asarray(n_tokens, np.int64),
        query_scheduled_ns=sched[first],
        query_issued_ns=issued[first],
        **kw,
    )


def test_percentiles_and_mean_are_official() -> None:
    values = sorted_ns([5, 1, 4, 2, 3])
    assert percentile_of_sorted(values, 0.9) == 5  # floor(5 * 0.9) = 4
    assert percentile_of_sorted(values, 0.5) == 3
    assert mean_ns(np.array([1, 2], dtype=np.int64)) == 1
    big = np.arange(1_000_000, dtype=np.int64)[::-1].copy()
    s = latency_stats(big, 0.99)
    assert s.at(0.999) == 999_000 and s.target_ns == 990_000 and s.mean_ns == 499_999


def ss_run(n: int = 1000, period_ns: int = 10_000_000):  # type: ignore[no-untyped-def]
    issued = np.arange(n, dtype=np.int64) * period_ns
    return raw_run(
        enums.TestScenario.SingleStream,
        sched=issued,
        issued=issued,
        completed=issued + 1000 + np.arange(n)[::-1],
    )


def test_single_stream_metrics_and_validity() -> None:
    r = compute_result(ss_run(), eff(min_duration_ms=5000, min_query_count=100))
    assert r.latency.target_ns == 1900 and r.latency.mean_ns == 1499
    assert r.early_stopping is not None and r.early_stopping.overlatency_count == 78
    assert r.early_stopping_latency_ss_ns == 1922 and r.early_stopping_latency_ms_ns == 1998
    assert r.primary_metric_value == 1922.0 and r.primary_metric_unit == "ns"
    assert r.qps_with_loadgen_overhead == pytest.approx(100.0)
    assert r.qps_without_loadgen_overhead == pytest.approx(1e9 / 1499)
    assert r.valid and [c.name for c in r.checks][:3] == [
        "min_duration",
        "min_queries",
        "early_stopping",
    ]
    d = r.check("min_duration")
    assert (d.observed, d.required, d.unit) == (9.99, 5.0, "s")


def test_single_stream_too_short_is_invalid_with_advice() -> None:
    r = compute_result(ss_run(n=50), eff(min_duration_ms=10_000, min_query_count=100))
    assert not r.valid
    assert r.check("min_duration").advice.startswith("Decrease the expected latency")
    q = r.check("min_queries")
    assert (q.passed, q.observed, q.required) == (False, 50, 100)
    es = r.check("early_stopping")
    assert (es.passed, es.observed, es.required) == (False, 50, 64)
    assert r.invalid_reason.startswith(
        "Decrease the expected latency so the loadgen pre-generates more queries. The test exited early"  # noqa: E501
    )


def test_multi_stream_uses_query_latency() -> None:
    nq = 700
    issued = np.repeat(np.arange(nq, dtype=np.int64) * 1_000_000, 2)
    lat = np.tile(np.array([100, 0], dtype=np.int64), nq) + np.repeat(np.arange(nq), 2)
    raw = raw_run(
        enums.TestScenario.MultiStream,
        sched=issued,
        issued=issued,
        completed=issued + lat,
        query_of_sample=np.repeat(np.arange(nq), 2),
    )
    r = compute_result(
        raw,
        eff(
            scenario=enums.TestScenario.MultiStream,
            min_duration_ms=100,
            min_query_count=10,
            multi_stream_samples_per_query=2,
        ),
    )
    assert r.query_latency is not None and r.query_latency.min_ns == 100
    assert r.query_latency.target_ns == 100 + int(nq * 0.99)
    t = 1  # largest_t(700, .99): only H(1) + 1 = 662 <= 700
    assert r.early_stopping_latency_ms_ns == 100 + (nq - t) and r.valid


def server_run(n: int = 500, slow: int = 1):  # type: ignore[no-untyped-def]
    sched = np.arange(n, dtype=np.int64) * 2_000_000
    lat = np.full(n, 1_000_000, dtype=np.int64)
    lat[:slow] = 50_000_000
    return raw_run(
        enums.TestScenario.Server, sched=sched, issued=sched + 100, completed=sched + lat
    )


def test_server_metrics_and_early_stopping_failure() -> None:
    e = eff(
        scenario=enums.TestScenario.Server,
        server_target_qps=500.0,
        server_target_latency_ns=10_000_000,
        min_duration_ms=500,
        min_query_count=100,
    )
    r = compute_result(server_run(), e)
    final_s = 499 * 2e-3
    assert r.scheduled_samples_per_second == pytest.approx(499 / final_s)
    assert r.completed_samples_per_second == pytest.approx(499 / (final_s + 1e-3))
    assert r.primary_metric_key == "result_completed_samples_per_sec"
    assert r.overlatency_query_count == 1 and r.passed("perf_constraints")
    es = r.check("early_stopping")
    assert (es.passed, es.observed, es.required) == (False, 500, 662)
    assert r.early_stopping is not None and "at least 162 more queries" in r.early_stopping.text
    assert not r.valid and r.invalid_reason == ""
    assert (r.issue_lag.p50_ns, r.issue_lag.p99_ns, r.issue_lag.max_ns) == (100, 100, 100)
    assert not r.issue_lag.dominates_latency


def test_server_perf_constraint() -> None:
    e = eff(
        scenario=enums.TestScenario.Server, server_target_latency_ns=10_000_000, min_duration_ms=100
    )
    r = compute_result(server_run(n=1000, slow=50), e)
    c = r.check("perf_constraints")
    assert (c.passed, c.observed, c.required) == (False, 50_000_000, 10_000_000)
    assert c.advice == "Reduce target QPS to improve latency."


def test_offline() -> None:
    n = 100
    done = (np.arange(n, dtype=np.int64) + 1) * 1_000_000
    zeros = np.zeros(n, dtype=np.int64)
    raw = raw_run(
        enums.TestScenario.Offline,
        sched=zeros,
        issued=zeros + 5,
        completed=done,
        query_of_sample=zeros,
    )
    r = compute_result(raw, eff(scenario=enums.TestScenario.Offline, min_duration_ms=1000))
    assert r.samples_per_second == pytest.approx(1000.0) and r.max_latency_ns == 100_000_000
    assert r.passed("early_stopping") and not r.has_check("perf_constraints")
    d = r.check("min_duration")
    assert not d.passed and d.advice.startswith("Increase expected QPS")


def test_incomplete_and_interrupted_runs_are_invalid() -> None:
    raw = ss_run(n=100, period_ns=200_000_000)
    completed = raw.completed_ns.copy()
    completed[-3:] = -1
    import dataclasses

    raw = dataclasses.replace(
        raw, completed_ns=completed, interrupted=True, interrupt_reason="Ctrl-C"
    )
    r = compute_result(raw, eff(min_duration_ms=1000, min_query_count=50))
    assert r.latency.count == 97 and r.incomplete_samples == 3
    c = r.check("all_samples_completed")
    assert (c.passed, c.observed, c.required) == (False, 97, 100)
    assert not r.check("not_interrupted").passed and not r.valid
    assert r.passed("min_duration") and r.passed("min_queries")


def test_accuracy_pass_has_no_metrics() -> None:
    raw = ss_run(n=10)
    import dataclasses

    r = compute_result(dataclasses.replace(raw, mode=enums.TestMode.AccuracyOnly), eff())
    assert not r.has_metrics and r.valid and r.latency.count == 0


def test_token_server_metrics() -> None:
    n = 700
    sched = np.arange(n, dtype=np.int64) * 1_000_000
    raw = raw_run(
        enums.TestScenario.Server,
        sched=sched,
        issued=sched,
        completed=sched + 11_000_000,
        first_token=sched + 1_000_000,
        n_tokens=np.full(n, 11),
    )
    e = eff(
        scenario=enums.TestScenario.Server,
        use_token_latencies=True,
        ttft_latency=2_000_000,
        tpot_latency=2_000_000,
        min_duration_ms=100,
    )
    r = compute_result(raw, e)
    assert r.tokens is not None and r.tokens.token_count == 11 * n
    assert r.tokens.ttft.target_ns == 1_000_000 and r.tokens.tpot.target_ns == 1_000_000
    assert r.tokens.completed_tokens_per_second == pytest.approx(11 * n / (699e-3 + 11e-3))
    assert r.primary_metric_key == "result_completed_tokens_per_second"
    assert r.early_stopping_tpot is not None and r.early_stopping_tpot.passed
    assert r.early_stopping_ttft is not None and r.valid and r.token_error_count == 0


def test_token_error_rules_and_tpot_arithmetic() -> None:
    lat = np.array([100, 100, 100, 100], dtype=np.int64)
    ttft = np.array([10, 10, 10, 10], dtype=np.int64)
    assert tpot_ns(lat, ttft, np.array([10, 1, 0, -3])).tolist() == [10, -90, -90, -90]
    raw = raw_run(
        enums.TestScenario.Server,
        sched=[0, 0, 0, 0],
        issued=[0, 0, 0, 0],
        completed=[100, 100, 100, 100],
        first_token=[10, 10, -1, 200],
        n_tokens=[1, 5, 5, 5],
    )
    events = token_error_events(raw, needs_first_token=True)
    assert [e.message for e in events] == [
        MSG_ONE_TOKEN,
        "Attempted to record a sample latency before it's first token latency",
        "Attempted to record token latency after sample was completed",
    ]
    assert all(e.key == "error_runtime" and e.is_error for e in events)
