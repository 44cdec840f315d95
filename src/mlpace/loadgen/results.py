"""From a :class:`RawRun` to metrics and validity: a pure function (reference §8 and §9).

Latency bases (what a sample's latency is measured from):

* SingleStream / MultiStream: the query's issue time (MS query latency: the query's last sample
  done - its issue time);
* Server: the sample's ideal scheduled time, so issue lag counts against the SUT;
* Offline: the start of the run.

Samples that never completed are left out of every latency statistic and make the run INVALID
(check ``all_samples_completed``, an mlpace extension; in Server early stopping they also count
as overlatency). An interrupted run is INVALID (check ``not_interrupted``). Accuracy passes give a
result without metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mlpace.loadgen.early_stopping import (
    EarlyStoppingResult,
    percentile_early_stopping,
    server_early_stopping_from_count,
)
from mlpace.loadgen.enums import TestMode, TestScenario
from mlpace.loadgen.raw import RawRun
from mlpace.loadgen.stats import (
    I64,
    LatencyStats,
    latency_stats_sorted,
    percentile_of_sorted,
    sort_owned_ns,
    sorted_ns,
)
from mlpace.loadgen.tokens import TokenMetrics, divide, token_error_mask, token_metrics

if TYPE_CHECKING:
    from mlpace.loadgen.effective import EffectiveSettings

# Official recommendation texts (the summary prefixes " * ").
ADVICE_MIN_DURATION = {
    TestScenario.SingleStream: "Decrease the expected latency so the loadgen pre-generates more "
    "queries.",
    TestScenario.MultiStream: "Decrease the expected latency so the loadgen pre-generates more "
    "queries.",
    TestScenario.Server: "Increase the target QPS so the loadgen pre-generates more queries.",
    TestScenario.Offline: "Increase expected QPS so the loadgen pre-generates a larger "
    "(coalesced) query.",
}
ADVICE_PERF = "Reduce target QPS to improve latency."
ADVICE_TTFT = "TTFT constrain not met: Reduce target QPS to improve latency."
ADVICE_TPOT = "TPOT constrain not met: Reduce target QPS to improve latency."
ADVICE_MIN_QUERIES = "The test exited early, before enough queries were issued."
ADVICE_MIN_QUERIES_SUMMARY = (
    "The test exited early, before enough queries were issued.\n"
    "   See the detailed log for why this may have occurred."
)
ADVICE_EARLY_STOPPING = "Run more queries (see the early stopping result)."
ADVICE_INCOMPLETE = "Every issued sample must be completed exactly once by the SUT."
# Issue lag above this fraction of the latency p99 means the load generator, not the SUT,
# dominates the measured latency (mlpace extension).
LAG_DOMINANCE_FRACTION = 0.10

OFFICIAL_CHECKS = ("perf_constraints", "min_duration", "min_queries", "early_stopping")


@dataclass(frozen=True)
class ValidityCheck:
    """One validity rule: did it pass, what was seen, what was needed, and what to do."""

    name: str
    passed: bool
    observed: float | int | str
    required: float | int | str
    advice: str = ""
    unit: str = ""


@dataclass(frozen=True)
class IssueLagStats:
    """Scheduled -> issued delay per query (ns); an mlpace extension."""

    p50_ns: int = 0
    p99_ns: int = 0
    max_ns: int = 0
    dominates_latency: bool = False


@dataclass(frozen=True)
class RunResult:
    """Everything the summary and detail logs report about one pass."""

    scenario: TestScenario
    mode: TestMode
    has_metrics: bool  # False for an accuracy pass
    queries_issued: int
    samples_issued: int
    sample_count: int  # completed samples (the official sample_count)
    incomplete_samples: int
    target_latency_percentile: float
    target_latency_ns: int
    latency: LatencyStats
    query_latency: LatencyStats | None = None  # MultiStream per-query latency
    final_query_scheduled_ns: int = 0
    final_query_issued_ns: int = 0
    final_query_done_ns: int = 0
    max_latency_ns: int = 0
    primary_metric_name: str = ""
    primary_metric_key: str = ""  # the detail-log key holding it
    primary_metric_value: float = 0.0
    primary_metric_unit: str = ""
    qps_with_loadgen_overhead: float | None = None  # SingleStream
    qps_without_loadgen_overhead: float | None = None  # SingleStream
    scheduled_samples_per_second: float | None = None  # Server
    completed_samples_per_second: float | None = None  # Server
    samples_per_second: float | None = None  # Offline
    early_stopping: EarlyStoppingResult | None = None  # non-token runs (not Offline)
    early_stopping_ttft: EarlyStoppingResult | None = None  # token runs (None: not evaluated)
    early_stopping_tpot: EarlyStoppingResult | None = None
    early_stopping_latency_ss_ns: int = 0
    early_stopping_latency_ms_ns: int = 0
    overlatency_query_count: int = 0
    tokens: TokenMetrics | None = None
    inferred_tokens_per_second: float | None = None  # Offline, infer_token_latencies
    inferred_completed_tokens_per_second: float | None = None  # Server, infer_token_latencies
    issue_lag: IssueLagStats = field(default_factory=IssueLagStats)
    checks: tuple[ValidityCheck, ...] = ()
    interrupted: bool = False
    interrupt_reason: str = ""
    unknown_id_responses: int = 0
    duplicate_responses: int = 0
    token_error_count: int = 0
    use_token_latencies: bool = False

    @property
    def valid(self) -> bool:
        return all(c.passed for c in self.checks)

    def check(self, name: str) -> ValidityCheck:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no validity check named {name!r} (have {[c.name for c in self.checks]})")

    def has_check(self, name: str) -> bool:
        return any(c.name == name for c in self.checks)

    def passed(self, name: str) -> bool:
        """A check's verdict; a check that does not apply counts as passed."""
        return self.check(name).passed if self.has_check(name) else True

    @property
    def invalid_reason(self) -> str:
        """The detail log's ``result_invalid_reason`` (official composition)."""
        text = ""
        if not self.passed("perf_constraints"):
            text += self.check("perf_constraints").advice + " "
        if not self.passed("min_duration"):
            text += self.check("min_duration").advice + " "
        if not self.passed("min_queries"):
            text += ADVICE_MIN_QUERIES
        return text.replace("\n", " ")

    @property
    def extension_failures(self) -> tuple[ValidityCheck, ...]:
        """Failed checks that are mlpace extensions (not in the official four)."""
        return tuple(c for c in self.checks if not c.passed and c.name not in OFFICIAL_CHECKS)


def _seconds(ns: int) -> float:
    return ns / 1e9


def _extension_checks(raw: RawRun, completed: int) -> list[ValidityCheck]:
    checks = [
        ValidityCheck(
            "all_samples_completed",
            completed == raw.issued_sample_count,
            completed,
            raw.issued_sample_count,
            "" if completed == raw.issued_sample_count else ADVICE_INCOMPLETE,
            "samples",
        )
    ]
    if raw.interrupted:
        checks.append(
            ValidityCheck(
                "not_interrupted",
                False,
                raw.interrupt_reason or "interrupted",
                "the run ends on its own",
                f"The run was interrupted: {raw.interrupt_reason or 'no reason given'}.",
            )
        )
    return checks


def _accuracy_result(raw: RawRun, effective: EffectiveSettings, completed: int) -> RunResult:
    return RunResult(
        scenario=raw.scenario,
        mode=raw.mode,
        has_metrics=False,
        queries_issued=raw.issued_query_count,
        samples_issued=raw.issued_sample_count,
        sample_count=completed,
        incomplete_samples=raw.issued_sample_count - completed,
        target_latency_percentile=float(effective.target_latency_percentile),
        target_latency_ns=int(effective.target_latency_ns),
        latency=LatencyStats.empty(float(effective.target_latency_percentile)),
        checks=tuple(_extension_checks(raw, completed)),
        interrupted=raw.interrupted,
        interrupt_reason=raw.interrupt_reason,
        unknown_id_responses=raw.unknown_id_responses,
        duplicate_responses=raw.duplicate_responses,
        use_token_latencies=bool(effective.use_token_latencies),
    )


def _query_done_ns(raw: RawRun) -> I64:
    """Per query: when its last sample completed, or -1 if one never did."""
    nq = raw.issued_query_count
    done = np.full(nq, np.iinfo(np.int64).min, dtype=np.int64)
    if raw.issued_sample_count:
        np.maximum.at(done, raw.query_of_sample, raw.completed_ns)
        missing = np.zeros(nq, dtype=bool)
        np.logical_or.at(missing, raw.query_of_sample, raw.completed_ns < 0)
        done[missing] = -1
    done[done == np.iinfo(np.int64).min] = -1
    return done


def _issue_lag(raw: RawRun, latency_p99_ns: int) -> IssueLagStats:
    if raw.issued_query_count == 0:
        return IssueLagStats()
    lag = sort_owned_ns(raw.query_issued_ns - raw.query_scheduled_ns)
    p99 = percentile_of_sorted(lag, 0.99)
    return IssueLagStats(
        p50_ns=percentile_of_sorted(lag, 0.50),
        p99_ns=p99,
        max_ns=int(lag[-1]),
        dominates_latency=latency_p99_ns > 0 and p99 > LAG_DOMINANCE_FRACTION * latency_p99_ns,
    )


def compute_result(raw: RawRun, effective: EffectiveSettings) -> RunResult:
    """Metrics, early stopping and validity of one pass (pure; reference §8-§10)."""
    scenario = raw.scenario
    done_mask = raw.completed_mask
    completed = int(np.count_nonzero(done_mask))
    if raw.mode == TestMode.AccuracyOnly:
        return _accuracy_result(raw, effective, completed)

    pct = float(effective.target_latency_percentile)
    target_ns = int(effective.target_latency_ns)
    if scenario == TestScenario.Server:
        base_all = raw.scheduled_ns
    elif scenario == TestScenario.Offline:
        base_all = np.zeros_like(raw.completed_ns)
    else:
        base_all = raw.issued_ns
    latency = raw.completed_ns - base_all
    if completed != latency.size:  # masking copies; skip it in the usual all-completed case
        latency = latency[done_mask]
    # Token metrics pair each latency with its first token, so they need the unsorted order.
    if effective.use_token_latencies:
        lat_sorted = sorted_ns(latency)
    else:
        lat_sorted = sort_owned_ns(latency)
    stats = latency_stats_sorted(lat_sorted, pct)
    sample_count = int(lat_sorted.size)
    nq = raw.issued_query_count
    incomplete = raw.issued_sample_count - completed

    query_done = _query_done_ns(raw)
    final_sched_ns = int(raw.query_scheduled_ns[-1]) if nq else 0
    final_issued_ns = int(raw.query_issued_ns[-1]) if nq else 0
    final_done_ns = int(query_done[-1]) if nq else 0
    if final_done_ns < 0:  # the final query never completed: use the last completion seen
        final_done_ns = int(raw.completed_ns.max()) if raw.issued_sample_count else 0
    max_latency_ns = stats.max_ns
    final_sched_s = _seconds(final_sched_ns)
    final_issued_s = _seconds(final_issued_ns)
    final_done_s = _seconds(final_done_ns)
    max_latency_s = _seconds(max_latency_ns)

    query_stats: LatencyStats | None = None
    query_sorted = np.zeros(0, dtype=np.int64)
    if scenario == TestScenario.MultiStream:
        ok = query_done >= 0
        query_sorted = sort_owned_ns((query_done - raw.query_issued_ns)[ok])
        query_stats = latency_stats_sorted(query_sorted, pct)

    use_tokens = bool(effective.use_token_latencies)
    needs_first_token = scenario != TestScenario.Offline
    tokens: TokenMetrics | None = None
    ttft_sorted = tpot_sorted = np.zeros(0, dtype=np.int64)
    token_errors = 0
    if use_tokens:
        token_errors = int(
            np.count_nonzero(token_error_mask(raw, needs_first_token=needs_first_token))
        )
        tokens, ttft, tpot = token_metrics(
            latency_ns=latency,
            first_token_ns=raw.first_token_ns[done_mask],
            base_ns=base_all[done_mask],
            n_tokens=raw.n_tokens[done_mask],
            offline=not needs_first_token,
            target_percentile=pct,
            mean_latency_ns=stats.mean_ns,
            final_issue_s=final_issued_s,
            final_done_s=final_done_s,
            max_latency_s=max_latency_s,
            error_count=token_errors,
        )
        ttft_sorted, tpot_sorted = sorted_ns(ttft), sorted_ns(tpot)
    inferred_tps = inferred_done_tps = None
    if effective.infer_token_latencies:
        factor = int(effective.token_latency_scaling_factor)
        if scenario == TestScenario.Offline:
            inferred_tps = divide(factor * sample_count, max_latency_s)
        elif scenario == TestScenario.Server:
            inferred_done_tps = divide((sample_count - 1) * factor, final_done_s)

    # ---- throughput metrics (§8)
    qps_w = qps_wo = sched_sps = done_sps = sps = None
    if scenario == TestScenario.SingleStream:
        qps_w = divide(sample_count - 1, final_issued_s)
        qps_wo = divide(1.0, _seconds(stats.mean_ns))
    elif scenario == TestScenario.Server:
        sched_sps = divide(sample_count - 1, final_sched_s)
        done_sps = divide(sample_count - 1, final_done_s)
    elif scenario == TestScenario.Offline:
        sps = divide(sample_count, max_latency_s)
    overlatency = (
        int(np.count_nonzero(lat_sorted > target_ns)) if scenario == TestScenario.Server else 0
    )

    # ---- early stopping (§9.1)
    es = es_ttft = es_tpot = None
    es_ss = es_ms = 0

    def evaluate(values_sorted: I64, threshold_ns: int) -> EarlyStoppingResult:
        if scenario == TestScenario.Server:
            t = int(np.count_nonzero(values_sorted > threshold_ns)) + incomplete
            return server_early_stopping_from_count(t, nq, pct)
        if scenario == TestScenario.MultiStream:
            # Officially MS always estimates on per-query latencies, token runs included.
            return percentile_early_stopping(query_sorted, nq, pct, single_stream=False)
        return percentile_early_stopping(values_sorted, nq, pct, single_stream=True)

    def stored(result: EarlyStoppingResult) -> None:
        nonlocal es_ss, es_ms
        if not result.passed or result.estimate_ns is None:
            return
        if scenario == TestScenario.SingleStream:
            es_ss = result.estimate_ns
            if result.secondary_estimate_ns is not None:
                es_ms = result.secondary_estimate_ns
        elif scenario == TestScenario.MultiStream:
            es_ms = result.estimate_ns

    if scenario == TestScenario.Offline:
        es_passed = True
        es_observed, es_required = nq, 0
    elif not use_tokens:
        es = evaluate(lat_sorted, target_ns)
        stored(es)
        es_passed, es_observed, es_required = es.passed, es.queries, es.queries_required
    else:
        # TPOT first; TTFT only when TPOT passed (the official && short-circuit).
        es_tpot = evaluate(tpot_sorted, int(effective.tpot_latency_ns))
        stored(es_tpot)
        deciding = es_tpot
        if es_tpot.passed:
            es_ttft = evaluate(ttft_sorted, int(effective.ttft_latency_ns))
            stored(es_ttft)
            deciding = es_ttft
        es_passed = deciding.passed
        es_observed, es_required = deciding.queries, deciding.queries_required

    # ---- validity (§9)
    checks: list[ValidityCheck] = []
    if scenario == TestScenario.Server:
        if not use_tokens:
            ok_perf = stats.target_ns <= target_ns
            checks.append(
                ValidityCheck(
                    "perf_constraints",
                    ok_perf,
                    stats.target_ns,
                    target_ns,
                    "" if ok_perf else ADVICE_PERF,
                    "ns",
                )
            )
        else:
            assert tokens is not None
            ttft_p, tpot_p = tokens.ttft.target_ns, tokens.tpot.target_ns
            ok_ttft = ttft_p <= int(effective.ttft_latency_ns)
            ok_tpot = tpot_p <= int(effective.tpot_latency_ns)
            advice = ""
            if not ok_ttft:
                advice = ADVICE_TTFT
            if not ok_tpot:
                advice = ADVICE_TPOT if not advice else advice + "\n * " + ADVICE_TPOT
            observed, required = (
                (ttft_p, int(effective.ttft_latency_ns))
                if not ok_ttft or ok_tpot
                else (tpot_p, int(effective.tpot_latency_ns))
            )
            checks.append(
                ValidityCheck(
                    "perf_constraints", ok_ttft and ok_tpot, observed, required, advice, "ns"
                )
            )
    min_duration_ms = int(effective.min_duration_ms)
    min_duration_s = min_duration_ms / 1000.0
    if scenario == TestScenario.Offline:
        duration_s = max_latency_s
    elif scenario == TestScenario.Server:
        duration_s = final_sched_s
    else:
        duration_s = final_issued_s
    ok_duration = duration_s >= min_duration_s
    checks.append(
        ValidityCheck(
            "min_duration",
            ok_duration,
            duration_s,
            min_duration_s,
            "" if ok_duration else ADVICE_MIN_DURATION[scenario],
            "s",
        )
    )
    min_q, min_s = int(effective.min_query_count), int(effective.min_sample_count)
    ok_q, ok_s = nq >= min_q, sample_count >= min_s
    if ok_q and not ok_s:
        checks.append(
            ValidityCheck("min_queries", False, sample_count, min_s, ADVICE_MIN_QUERIES, "samples")
        )
    else:
        checks.append(
            ValidityCheck(
                "min_queries",
                ok_q and ok_s,
                nq,
                min_q,
                "" if ok_q else ADVICE_MIN_QUERIES,
                "queries",
            )
        )
    checks.append(
        ValidityCheck(
            "early_stopping",
            es_passed,
            es_observed,
            es_required,
            "" if es_passed else ADVICE_EARLY_STOPPING,
            "queries",
        )
    )
    checks += _extension_checks(raw, completed)

    # ---- primary metric
    if scenario == TestScenario.SingleStream:
        primary = (
            f"{pct * 100:.1f}th percentile latency (early stopping estimate)",
            "early_stopping_latency_ss",
            float(es_ss),
            "ns",
        )
    elif scenario == TestScenario.MultiStream:
        primary = (
            f"{pct * 100:.1f}th percentile per-query latency (early stopping estimate)",
            "early_stopping_latency_ms",
            float(es_ms),
            "ns",
        )
    elif scenario == TestScenario.Server:
        if tokens is not None and tokens.completed_tokens_per_second is not None:
            primary = (
                "Completed tokens per second",
                "result_completed_tokens_per_second",
                tokens.completed_tokens_per_second,
                "tokens/s",
            )
        else:
            primary = (
                "Completed samples per second",
                "result_completed_samples_per_sec",
                float(done_sps or 0.0),
                "samples/s",
            )
    elif tokens is not None and tokens.tokens_per_second is not None:
        primary = (
            "Tokens per second",
            "result_tokens_per_second",
            tokens.tokens_per_second,
            "tokens/s",
        )
    else:
        primary = (
            "Samples per second",
            "result_samples_per_second",
            float(sps or 0.0),
            "samples/s",
        )

    return RunResult(
        scenario=scenario,
        mode=raw.mode,
        has_metrics=True,
        queries_issued=nq,
        samples_issued=raw.issued_sample_count,
        sample_count=sample_count,
        incomplete_samples=incomplete,
        target_latency_percentile=pct,
        target_latency_ns=target_ns,
        latency=stats,
        query_latency=query_stats,
        final_query_scheduled_ns=final_sched_ns,
        final_query_issued_ns=final_issued_ns,
        final_query_done_ns=final_done_ns,
        max_latency_ns=max_latency_ns,
        primary_metric_name=primary[0],
        primary_metric_key=primary[1],
        primary_metric_value=primary[2],
        primary_metric_unit=primary[3],
        qps_with_loadgen_overhead=qps_w,
        qps_without_loadgen_overhead=qps_wo,
        scheduled_samples_per_second=sched_sps,
        completed_samples_per_second=done_sps,
        samples_per_second=sps,
        early_stopping=es,
        early_stopping_ttft=es_ttft,
        early_stopping_tpot=es_tpot,
        early_stopping_latency_ss_ns=es_ss,
        early_stopping_latency_ms_ns=es_ms,
        overlatency_query_count=overlatency,
        tokens=tokens,
        inferred_tokens_per_second=inferred_tps,
        inferred_completed_tokens_per_second=inferred_done_tps,
        issue_lag=_issue_lag(raw, stats.at(0.99)),
        checks=tuple(checks),
        interrupted=raw.interrupted,
        interrupt_reason=raw.interrupt_reason,
        unknown_id_responses=raw.unknown_id_responses,
        duplicate_responses=raw.duplicate_responses,
        token_error_count=token_errors,
        use_token_latencies=use_tokens,
    )
