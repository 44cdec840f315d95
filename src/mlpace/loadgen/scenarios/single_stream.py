"""SingleStream: the next query (one sample) is issued when the previous one has completed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpace.loadgen.early_stopping import EarlyStoppingResult, percentile_early_stopping
from mlpace.loadgen.enums import TestScenario
from mlpace.loadgen.logs.formatting import fixed
from mlpace.loadgen.logs.summary import stats_lines
from mlpace.loadgen.results import Measured, RunResult, ScenarioRates
from mlpace.loadgen.scenarios._policy import LoadTargets, QuerySizing, SharedPolicy
from mlpace.loadgen.scenarios.base import IssueContext, PreparedSchedule, sequential_issue
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.stats import I64, percentile_short_label
from mlpace.loadgen.tokens import TokenMetrics, divide

if TYPE_CHECKING:
    from mlpace.loadgen.effective import EffectiveSettings


class SingleStreamScenario:
    name = "SingleStream"

    def issue_all(
        self,
        ctx: IssueContext,
        schedule: PreparedSchedule,
        *,
        first_query: int,
        first_position: int,
        accuracy: bool,
    ) -> None:
        sequential_issue(
            ctx, schedule, first_query=first_query, first_position=first_position, accuracy=accuracy
        )


# ---------------------------------------------------------------------------- policy
# Equal issue generates twice the expected queries (skewed latency distributions).
EQUAL_ISSUE_SLACK = 2.0
ADVICE_MIN_DURATION_STREAM = (
    "Decrease the expected latency so the loadgen pre-generates more queries."
)


class SingleStreamPolicy(SharedPolicy):
    """SingleStream's rules: one sample per query, latency from the query's issue, the
    early-stopping estimate of the latency percentile as the metric."""

    scenario = TestScenario.SingleStream
    min_duration_advice = ADVICE_MIN_DURATION_STREAM

    def issuer(self) -> SingleStreamScenario:
        return SingleStreamScenario()

    def load_targets(self, s: TestSettings) -> LoadTargets:
        return LoadTargets(
            1_000_000_000 / s.single_stream_expected_latency_ns,
            0,
            s.single_stream_target_latency_percentile,
            1,
        )

    def query_sizing(
        self,
        s: TestSettings,
        targets: LoadTargets,
        min_duration_ns: int,
        psc: int,
        qsl_performance_count: int,
    ) -> QuerySizing:
        target_duration_ns = min_duration_ns  # the run aims at the minimum duration
        min_query_count = s.min_query_count
        if s.sample_concatenate_permutation:
            expected = int(EQUAL_ISSUE_SLACK * (target_duration_ns / 1e9) * targets.target_qps)
            min_query_count = max(min_query_count, expected)
            # Up to the next multiple of the QSL's own count (not the override), always adding
            # a step, even to an exact multiple: that is what the official code does.
            min_query_count += qsl_performance_count - (min_query_count % qsl_performance_count)
        return QuerySizing(1, min_query_count, target_duration_ns)

    def requested_log_items(self, s: TestSettings) -> list[tuple[str, object]]:
        return [
            (
                "requested_single_stream_expected_latency_ns",
                float(s.single_stream_expected_latency_ns),
            ),
            (
                "requested_single_stream_target_latency_percentile",
                s.single_stream_target_latency_percentile,
            ),
        ]

    def rates(self, m: Measured, effective: EffectiveSettings) -> ScenarioRates:
        return ScenarioRates(
            qps_with_loadgen_overhead=divide(m.sample_count - 1, m.final_query_issued_s),
            qps_without_loadgen_overhead=divide(1.0, m.latency.mean_ns / 1e9),
        )

    def early_stopping(
        self, values_sorted: I64, threshold_ns: int, m: Measured
    ) -> EarlyStoppingResult:
        pct = m.target_latency_percentile
        return percentile_early_stopping(values_sorted, m.queries, pct, single_stream=True)

    def early_stopping_latencies(self, es: EarlyStoppingResult) -> tuple[int | None, int | None]:
        return es.estimate_ns, es.secondary_estimate_ns

    def primary_metric(
        self,
        m: Measured,
        rates: ScenarioRates,
        tokens: TokenMetrics | None,
        es_latencies: tuple[int, int],
    ) -> tuple[str, str, float, str]:
        pct = m.target_latency_percentile
        return (
            f"{pct * 100:.1f}th percentile latency (early stopping estimate)",
            "early_stopping_latency_ss",
            float(es_latencies[0]),
            "ns",
        )

    def summary_result_lines(self, r: RunResult, tokens: TokenMetrics | None) -> list[str]:
        pct = percentile_short_label(r.target_latency_percentile)
        lines = [f"{pct}th percentile latency (ns) : {r.latency.target_ns}"]
        if tokens is not None:
            lines.append(f"{pct}th first token percentile latency (ns) : {tokens.ttft.target_ns}")
        return lines

    def summary_stats_lines(self, r: RunResult) -> list[str]:
        return [
            f"QPS w/ loadgen overhead         : {fixed(r.qps_with_loadgen_overhead)}",
            f"QPS w/o loadgen overhead        : {fixed(r.qps_without_loadgen_overhead)}",
            "",
            *stats_lines(r.latency),
        ]

    def summary_token_lines(self, r: RunResult, tokens: TokenMetrics) -> list[str]:
        return [
            f"TPS w/ loadgen overhead         : {fixed(tokens.tps_with_loadgen_overhead)}",
            f"TPS w/o loadgen overhead        : {fixed(tokens.tps_without_loadgen_overhead)}",
        ]

    def detail_result_items(self, r: RunResult) -> list[tuple[str, object]]:
        return [
            ("result_qps_with_loadgen_overhead", r.qps_with_loadgen_overhead),
            ("result_qps_without_loadgen_overhead", r.qps_without_loadgen_overhead),
            ("early_stopping_latency_ss", r.early_stopping_latency_ss_ns),
            ("early_stopping_latency_ms", r.early_stopping_latency_ms_ns),
        ]


POLICY = SingleStreamPolicy()
