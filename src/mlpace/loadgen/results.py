"""From a :class:`RawRun` to metrics and validity: a pure function (reference §8 and §9).

What all scenarios share lives here: latencies and their percentiles, token metrics, the early
stopping sequence, the min-duration / min-queries / early-stopping checks and mlpace's own
checks. What a scenario decides (the latency base, its throughput figures, which early-stopping
estimate, its performance constraint, which time the min duration is measured on, the primary
metric) comes from its policy (``effective.policy``, see :mod:`mlpace.loadgen.scenarios`).

Samples that never completed are left out of every latency statistic and make the run INVALID
(check ``all_samples_completed``, an mlpace extension; in Server early stopping they also count
as overlatency). An interrupted run is INVALID (check ``not_interrupted``). Accuracy passes give a
result without metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mlpace.loadgen.early_stopping import EarlyStoppingResult
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
from mlpace.loadgen.tokens import TokenMetrics, token_error_mask, token_metrics

if TYPE_CHECKING:
    from mlpace.loadgen.effective import EffectiveSettings

# Official recommendation texts (the summary prefixes " * "); each scenario's policy has its
# own min-duration advice.
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


@dataclass(frozen=True, eq=False)
class Measured:
    """What the shared stage measured of one performance pass, for the scenario policy."""

    queries: int  # issued queries
    incomplete_samples: int
    sample_count: int  # completed samples
    target_latency_percentile: float
    target_latency_ns: int
    latency: LatencyStats
    latency_sorted_ns: I64
    query_latency: LatencyStats | None  # per-query latency (MultiStream), else None
    query_latency_sorted_ns: I64  # the same, sorted (else empty)
    final_query_scheduled_ns: int
    final_query_issued_ns: int
    final_query_done_ns: int
    max_latency_ns: int

    @property
    def final_query_scheduled_s(self) -> float:
        return _seconds(self.final_query_scheduled_ns)

    @property
    def final_query_issued_s(self) -> float:
        return _seconds(self.final_query_issued_ns)

    @property
    def final_query_done_s(self) -> float:
        return _seconds(self.final_query_done_ns)

    @property
    def max_latency_s(self) -> float:
        return _seconds(self.max_latency_ns)


@dataclass(frozen=True)
class ScenarioRates:
    """A scenario's throughput figures (each None where the scenario has no such figure)."""

    qps_with_loadgen_overhead: float | None = None
    qps_without_loadgen_overhead: float | None = None
    scheduled_samples_per_second: float | None = None
    completed_samples_per_second: float | None = None
    samples_per_second: float | None = None
    overlatency_query_count: int = 0
    inferred_tokens_per_second: float | None = None
    inferred_completed_tokens_per_second: float | None = None


@dataclass
class _EarlyStopping:
    """The early-stopping results of one pass and the estimates they store."""

    plain: EarlyStoppingResult | None = None
    ttft: EarlyStoppingResult | None = None
    tpot: EarlyStoppingResult | None = None
    latency_ss_ns: int = 0
    latency_ms_ns: int = 0
    passed: bool = True
    observed: int = 0
    required: int = 0

    def store(self, effective: EffectiveSettings, result: EarlyStoppingResult) -> None:
        if not result.passed or result.estimate_ns is None:
            return
        ss, ms = effective.policy.early_stopping_latencies(result)
        if ss is not None:
            self.latency_ss_ns = ss
        if ms is not None:
            self.latency_ms_ns = ms

    def decided_by(self, result: EarlyStoppingResult) -> None:
        self.passed, self.observed, self.required = (
            result.passed,
            result.queries,
            result.queries_required,
        )


def _early_stopping(
    m: Measured, effective: EffectiveSettings, ttft_sorted: I64, tpot_sorted: I64
) -> _EarlyStopping:
    policy = effective.policy
    out = _EarlyStopping(observed=m.queries)
    if not policy.uses_early_stopping:
        return out
    if not effective.use_token_latencies:
        out.plain = policy.early_stopping(m.latency_sorted_ns, m.target_latency_ns, m)
        out.store(effective, out.plain)
        out.decided_by(out.plain)
        return out
    # TPOT first; TTFT only when TPOT passed (the official && short-circuit).
    out.tpot = policy.early_stopping(tpot_sorted, int(effective.tpot_latency_ns), m)
    out.store(effective, out.tpot)
    deciding = out.tpot
    if out.tpot.passed:
        out.ttft = policy.early_stopping(ttft_sorted, int(effective.ttft_latency_ns), m)
        out.store(effective, out.ttft)
        deciding = out.ttft
    out.decided_by(deciding)
    return out


def _validity_checks(
    m: Measured,
    effective: EffectiveSettings,
    tokens: TokenMetrics | None,
    es: _EarlyStopping,
) -> list[ValidityCheck]:
    policy = effective.policy
    checks: list[ValidityCheck] = []
    perf = policy.performance_check(m, effective, tokens)
    if perf is not None:
        checks.append(perf)
    min_duration_s = _seconds(effective.min_duration_ns)
    duration_s = _seconds(policy.duration_ns(m))
    ok_duration = duration_s >= min_duration_s
    checks.append(
        ValidityCheck(
            "min_duration",
            ok_duration,
            duration_s,
            min_duration_s,
            "" if ok_duration else policy.min_duration_advice,
            "s",
        )
    )
    nq, sample_count = m.queries, m.sample_count
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
            es.passed,
            es.observed,
            es.required,
            "" if es.passed else ADVICE_EARLY_STOPPING,
            "queries",
        )
    )
    return checks


def _measure(raw: RawRun, effective: EffectiveSettings, latency: I64) -> Measured:
    """Sort the latencies and find the final query's times."""
    pct = float(effective.target_latency_percentile)
    # Token metrics pair each latency with its first token, so they need the unsorted order.
    if effective.use_token_latencies:
        lat_sorted = sorted_ns(latency)
    else:
        lat_sorted = sort_owned_ns(latency)
    stats = latency_stats_sorted(lat_sorted, pct)
    nq = raw.issued_query_count
    query_done = _query_done_ns(raw)
    final_done_ns = int(query_done[-1]) if nq else 0
    if final_done_ns < 0:  # the final query never completed: use the last completion seen
        final_done_ns = int(raw.completed_ns.max()) if raw.issued_sample_count else 0
    query_stats, query_sorted = effective.policy.query_latency(raw, query_done, pct)
    return Measured(
        queries=nq,
        incomplete_samples=raw.issued_sample_count - int(np.count_nonzero(raw.completed_mask)),
        sample_count=int(lat_sorted.size),
        target_latency_percentile=pct,
        target_latency_ns=int(effective.target_latency_ns),
        latency=stats,
        latency_sorted_ns=lat_sorted,
        query_latency=query_stats,
        query_latency_sorted_ns=query_sorted,
        final_query_scheduled_ns=int(raw.query_scheduled_ns[-1]) if nq else 0,
        final_query_issued_ns=int(raw.query_issued_ns[-1]) if nq else 0,
        final_query_done_ns=final_done_ns,
        max_latency_ns=stats.max_ns,
    )


def compute_result(raw: RawRun, effective: EffectiveSettings) -> RunResult:
    """Metrics, early stopping and validity of one pass (pure; reference §8-§10)."""
    policy = effective.policy
    done_mask = raw.completed_mask
    completed = int(np.count_nonzero(done_mask))
    if raw.mode == TestMode.AccuracyOnly:
        return _accuracy_result(raw, effective, completed)

    base_all = policy.latency_base_ns(raw)
    latency = raw.completed_ns - base_all
    if completed != latency.size:  # masking copies; skip it in the usual all-completed case
        latency = latency[done_mask]
    m = _measure(raw, effective, latency)
    pct = m.target_latency_percentile

    use_tokens = bool(effective.use_token_latencies)
    tokens: TokenMetrics | None = None
    ttft_sorted = tpot_sorted = np.zeros(0, dtype=np.int64)
    token_errors = 0
    if use_tokens:
        needs_first_token = policy.measures_first_token
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
            mean_latency_ns=m.latency.mean_ns,
            final_issue_s=m.final_query_issued_s,
            final_done_s=m.final_query_done_s,
            max_latency_s=m.max_latency_s,
            error_count=token_errors,
        )
        ttft_sorted, tpot_sorted = sorted_ns(ttft), sorted_ns(tpot)
    rates = policy.rates(m, effective)
    es = _early_stopping(m, effective, ttft_sorted, tpot_sorted)
    checks = _validity_checks(m, effective, tokens, es)
    checks += _extension_checks(raw, completed)
    name, key, value, unit = policy.primary_metric(
        m, rates, tokens, (es.latency_ss_ns, es.latency_ms_ns)
    )
    return RunResult(
        scenario=raw.scenario,
        mode=raw.mode,
        has_metrics=True,
        queries_issued=m.queries,
        samples_issued=raw.issued_sample_count,
        sample_count=m.sample_count,
        incomplete_samples=m.incomplete_samples,
        target_latency_percentile=pct,
        target_latency_ns=m.target_latency_ns,
        latency=m.latency,
        query_latency=m.query_latency,
        final_query_scheduled_ns=m.final_query_scheduled_ns,
        final_query_issued_ns=m.final_query_issued_ns,
        final_query_done_ns=m.final_query_done_ns,
        max_latency_ns=m.max_latency_ns,
        primary_metric_name=name,
        primary_metric_key=key,
        primary_metric_value=value,
        primary_metric_unit=unit,
        qps_with_loadgen_overhead=rates.qps_with_loadgen_overhead,
        qps_without_loadgen_overhead=rates.qps_without_loadgen_overhead,
        scheduled_samples_per_second=rates.scheduled_samples_per_second,
        completed_samples_per_second=rates.completed_samples_per_second,
        samples_per_second=rates.samples_per_second,
        early_stopping=es.plain,
        early_stopping_ttft=es.ttft,
        early_stopping_tpot=es.tpot,
        early_stopping_latency_ss_ns=es.latency_ss_ns,
        early_stopping_latency_ms_ns=es.latency_ms_ns,
        overlatency_query_count=rates.overlatency_query_count,
        tokens=tokens,
        inferred_tokens_per_second=rates.inferred_tokens_per_second,
        inferred_completed_tokens_per_second=rates.inferred_completed_tokens_per_second,
        issue_lag=_issue_lag(raw, m.latency.at(0.99)),
        checks=tuple(checks),
        interrupted=raw.interrupted,
        interrupt_reason=raw.interrupt_reason,
        unknown_id_responses=raw.unknown_id_responses,
        duplicate_responses=raw.duplicate_responses,
        token_error_count=token_errors,
        use_token_latencies=use_tokens,
    )
