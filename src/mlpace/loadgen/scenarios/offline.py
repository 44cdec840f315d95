"""Offline: the whole (pre-generated) query goes to the SUT at once, at the start."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mlpace.loadgen.early_stopping import EarlyStoppingResult
from mlpace.loadgen.enums import TestScenario
from mlpace.loadgen.logs.formatting import general
from mlpace.loadgen.logs.summary import stats_lines
from mlpace.loadgen.raw import RawRun
from mlpace.loadgen.results import Measured, RunResult, ScenarioRates
from mlpace.loadgen.scenarios._policy import LoadTargets, QuerySizing, SharedPolicy
from mlpace.loadgen.scenarios.base import IssueContext, PreparedSchedule
from mlpace.loadgen.schedule import I64, SampleSet, round_up, shuffled_passes
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.tokens import TokenMetrics, divide

if TYPE_CHECKING:
    from mlpace.loadgen.effective import EffectiveSettings


class OfflineScenario:
    name = "Offline"

    def issue_all(
        self,
        ctx: IssueContext,
        schedule: PreparedSchedule,
        *,
        first_query: int,
        first_position: int,
        accuracy: bool,
    ) -> None:
        for q0, _, starts, lengths in schedule.chunks():
            for q in range(len(starts)):
                now = ctx.now_ns()
                g = first_query + q0 + q
                ctx.query_scheduled[g] = ctx.start_ns
                ctx.query_issued[g] = now
                ctx.query_length[g] = lengths[q]
                ctx.queries_issued = g + 1
                ctx.issue(first_position + starts[q], lengths[q], now)


# ---------------------------------------------------------------------------- policy
# Offline generates 10% more samples than min_duration * target_qps needs.
OFFLINE_SLACK = 1.1


class OfflinePolicy(SharedPolicy):
    """Offline's rules: one query holding every sample, latency from the start of the run,
    samples per second over the whole run as the metric, no early stopping, no first token."""

    scenario = TestScenario.Offline
    measures_first_token = False
    uses_early_stopping = False
    min_duration_advice = (
        "Increase expected QPS so the loadgen pre-generates a larger (coalesced) query."
    )

    def issuer(self) -> OfflineScenario:
        return OfflineScenario()

    def load_targets(self, s: TestSettings) -> LoadTargets:
        # The percentile is unused in Offline; the official value, so logs match.
        return LoadTargets(s.offline_expected_qps, 0, 0.99, 1)

    def query_sizing(
        self,
        s: TestSettings,
        targets: LoadTargets,
        min_duration_ns: int,
        psc: int,
        qsl_performance_count: int,
    ) -> QuerySizing:
        # Same double arithmetic and uint64 truncation as the official code.
        min_duration_s = min_duration_ns / 1e9
        target_sample_count = int(OFFLINE_SLACK * min_duration_s * targets.target_qps)
        if s.performance_issue_unique:
            samples_per_query = psc
        else:
            samples_per_query = max(s.min_query_count, target_sample_count)
        return QuerySizing(samples_per_query, 1, 0)

    def expected_sample_count(self, effective: EffectiveSettings) -> float:
        return max(
            float(effective.target_qps) * (effective.min_duration_ns / 1e9),
            float(effective.min_sample_count),
        )

    def requested_log_items(self, s: TestSettings) -> list[tuple[str, object]]:
        return [("requested_offline_expected_qps", s.offline_expected_qps)]

    def accuracy_queries(
        self, sample_set: SampleSet, rng: np.random.RandomState, spq: int
    ) -> tuple[I64, I64 | None]:
        size = int(sample_set.distribution_end)
        return sample_set.real[rng.permutation(size)], np.array([size], dtype=np.int64)

    def performance_query_bounds(
        self, effective: EffectiveSettings, size: int, spq: int, equal_issue: bool
    ) -> tuple[int, int, int]:
        if effective.performance_issue_unique:
            return 1, 0, 0
        return int(effective.min_query_count), 0, effective.generation_duration_ns

    def performance_queries(
        self,
        effective: EffectiveSettings,
        sample_set: SampleSet,
        rng: np.random.RandomState,
        n: int,
        spq: int,
        equal_issue: bool,
    ) -> tuple[I64, I64 | None]:
        real = sample_set.real
        size = int(sample_set.distribution_end)
        unique = effective.performance_issue_unique
        if unique:
            total = size
        elif equal_issue:
            total = round_up(spq, size)  # whole passes over the set
        else:
            total = spq
        if equal_issue and not unique:
            indices = shuffled_passes(rng, real, total)
        else:
            indices = np.resize(real, total)
        if n > 1:
            indices = np.tile(indices, n)
        return indices, np.full(n, total, dtype=np.int64)

    def latency_base_ns(self, raw: RawRun) -> I64:
        return np.zeros_like(raw.completed_ns)  # the start of the run

    def rates(self, m: Measured, effective: EffectiveSettings) -> ScenarioRates:
        inferred = None
        if effective.infer_token_latencies:
            factor = int(effective.token_latency_scaling_factor)
            inferred = divide(factor * m.sample_count, m.max_latency_s)
        return ScenarioRates(
            samples_per_second=divide(m.sample_count, m.max_latency_s),
            inferred_tokens_per_second=inferred,
        )

    def early_stopping(
        self, values_sorted: I64, threshold_ns: int, m: Measured
    ) -> EarlyStoppingResult:
        raise NotImplementedError("Offline has no early stopping")

    def duration_ns(self, m: Measured) -> int:
        return m.max_latency_ns

    def primary_metric(
        self,
        m: Measured,
        rates: ScenarioRates,
        tokens: TokenMetrics | None,
        es_latencies: tuple[int, int],
    ) -> tuple[str, str, float, str]:
        if tokens is not None and tokens.tokens_per_second is not None:
            return (
                "Tokens per second",
                "result_tokens_per_second",
                tokens.tokens_per_second,
                "tokens/s",
            )
        return (
            "Samples per second",
            "result_samples_per_second",
            float(rates.samples_per_second or 0.0),
            "samples/s",
        )

    def summary_result_lines(self, r: RunResult, tokens: TokenMetrics | None) -> list[str]:
        lines = [f"Samples per second: {general(r.samples_per_second or 0.0)}"]
        if tokens is not None:
            lines.append(f"Tokens per second: {general(tokens.tokens_per_second or 0.0)}")
        return lines

    def summary_stats_lines(self, r: RunResult) -> list[str]:
        return stats_lines(r.latency)

    def detail_result_items(self, r: RunResult) -> list[tuple[str, object]]:
        return [("result_samples_per_second", r.samples_per_second)]


POLICY = OfflinePolicy()
