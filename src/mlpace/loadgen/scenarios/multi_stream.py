"""MultiStream: a query of ``samples_per_query`` samples, the next one once all have completed.

The query latency (the last sample's completion minus the issue time) is computed from the raw
per-sample records by the results stage; issuing is the same loop as SingleStream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mlpace.loadgen.early_stopping import EarlyStoppingResult, percentile_early_stopping
from mlpace.loadgen.enums import TestScenario
from mlpace.loadgen.logs.summary import stats_lines
from mlpace.loadgen.raw import RawRun
from mlpace.loadgen.results import Measured, RunResult, ScenarioRates
from mlpace.loadgen.scenarios._policy import LoadTargets, QuerySizing, SharedPolicy
from mlpace.loadgen.scenarios.base import IssueContext, PreparedSchedule, sequential_issue
from mlpace.loadgen.scenarios.single_stream import ADVICE_MIN_DURATION_STREAM
from mlpace.loadgen.schedule import SampleSet
from mlpace.loadgen.settings import TestSettings
from mlpace.loadgen.stats import (
    I64,
    LatencyStats,
    latency_stats_sorted,
    percentile_label,
    percentile_short_label,
    sort_owned_ns,
)
from mlpace.loadgen.tokens import TokenMetrics

if TYPE_CHECKING:
    from mlpace.loadgen.effective import EffectiveSettings


class MultiStreamScenario:
    name = "MultiStream"

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
class MultiStreamPolicy(SharedPolicy):
    """MultiStream's rules: queries of ``samples_per_query`` contiguous samples, the per-query
    latency (last sample done - issue) and its early-stopping estimate as the metric."""

    scenario = TestScenario.MultiStream
    contiguous_queries = True
    min_duration_advice = ADVICE_MIN_DURATION_STREAM

    def issuer(self) -> MultiStreamScenario:
        return MultiStreamScenario()

    def load_targets(self, s: TestSettings) -> LoadTargets:
        return LoadTargets(
            1_000_000_000 / s.multi_stream_expected_latency_ns,
            0,
            s.multi_stream_target_latency_percentile,
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
        return QuerySizing(s.multi_stream_samples_per_query, s.min_query_count, min_duration_ns)

    def requested_log_items(self, s: TestSettings) -> list[tuple[str, object]]:
        return [
            (
                "requested_multi_stream_expected_latency_ns",
                float(s.multi_stream_expected_latency_ns),
            ),
            (
                "requested_multi_stream_target_latency_percentile",
                s.multi_stream_target_latency_percentile,
            ),
            ("requested_multi_stream_samples_per_query", s.multi_stream_samples_per_query),
        ]

    def accuracy_queries(
        self, sample_set: SampleSet, rng: np.random.RandomState, spq: int
    ) -> tuple[I64, I64 | None]:
        # Every entry once: the set cut into runs of spq, the runs in shuffled order.
        size = int(sample_set.distribution_end)
        starts = np.arange(0, size, spq, dtype=np.int64)
        rng.shuffle(starts)
        lengths: I64 = np.minimum(spq, size - starts)
        pos = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)])
        indices: I64 = sample_set.indices[pos]
        return indices, lengths

    def random_queries(
        self, sample_set: SampleSet, rng: np.random.RandomState, n: int, spq: int
    ) -> I64:
        # A random start per query, then spq contiguous entries (the padded set never runs out).
        size = int(sample_set.distribution_end)
        starts = rng.randint(0, size, size=n).astype(np.int64)
        pos = starts[:, None] + np.arange(spq, dtype=np.int64)[None, :]
        picked: I64 = sample_set.indices[pos.ravel()]
        return picked

    def query_latency(
        self, raw: RawRun, query_done_ns: I64, percentile: float
    ) -> tuple[LatencyStats | None, I64]:
        ok = query_done_ns >= 0
        query_sorted = sort_owned_ns((query_done_ns - raw.query_issued_ns)[ok])
        return latency_stats_sorted(query_sorted, percentile), query_sorted

    def rates(self, m: Measured, effective: EffectiveSettings) -> ScenarioRates:
        return ScenarioRates()

    def early_stopping(
        self, values_sorted: I64, threshold_ns: int, m: Measured
    ) -> EarlyStoppingResult:
        # Officially MS always estimates on per-query latencies, token runs included.
        return percentile_early_stopping(
            m.query_latency_sorted_ns, m.queries, m.target_latency_percentile, single_stream=False
        )

    def early_stopping_latencies(self, es: EarlyStoppingResult) -> tuple[int | None, int | None]:
        return None, es.estimate_ns

    def primary_metric(
        self,
        m: Measured,
        rates: ScenarioRates,
        tokens: TokenMetrics | None,
        es_latencies: tuple[int, int],
    ) -> tuple[str, str, float, str]:
        pct = m.target_latency_percentile
        return (
            f"{pct * 100:.1f}th percentile per-query latency (early stopping estimate)",
            "early_stopping_latency_ms",
            float(es_latencies[1]),
            "ns",
        )

    def summary_result_lines(self, r: RunResult, tokens: TokenMetrics | None) -> list[str]:
        pct = percentile_short_label(r.target_latency_percentile)
        q = r.query_latency or LatencyStats.empty()
        lines = [f"{pct}th percentile latency (ns) : {q.target_ns}"]
        if tokens is not None:
            lines.append(f"{pct}th first token percentile latency (ns) : {tokens.ttft.target_ns}")
        return lines

    def summary_stats_lines(self, r: RunResult) -> list[str]:
        return ["Per-query latency:  ", *stats_lines(r.query_latency or LatencyStats.empty())]

    def detail_result_items(self, r: RunResult) -> list[tuple[str, object]]:
        items: list[tuple[str, object]] = []
        q = r.query_latency
        if q is not None:
            items += [
                ("result_min_query_latency_ns", q.min_ns),
                ("result_max_query_latency_ns", q.max_ns),
                ("result_mean_query_latency_ns", q.mean_ns),
            ]
            items += [
                (f"result_{percentile_label(p)}_percentile_per_query_latency_ns", v)
                for p, v in q.percentiles_ns
            ]
        items.append(("early_stopping_latency_ms", r.early_stopping_latency_ms_ns))
        return items


POLICY = MultiStreamPolicy()
